"""What an attacker or a defender does with embeddings.

``probes`` read nuisance factors (light) out of embeddings, ``attacks`` invert embeddings
back into faces (decoder, white-box gradient, GAN prior; ``gan`` is the face prior),
``attack_metrics`` scores reconstructions, ``defenses`` are the template protections.
Built on :mod:`faceleak.vision`; the chapters' experiments in :mod:`faceleak.experiments`
put them together.
"""
