"""Terms of Service and vendor risk, on evidence: needs no torch.

``tos`` is the transparent rule-based clause analyzer of Chapter 5; ``risk`` the claim
ledger and evidence-only scoring of Chapter 6.
"""
