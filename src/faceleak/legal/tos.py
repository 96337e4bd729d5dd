"""Reading Terms of Service: a transparent, rule-based clause analyzer.

The analyzer splits a document into clauses and tags each clause with zero or more labels from a
fixed taxonomy (:data:`LABELS`). Every label it assigns comes with the text that triggered it and
a one-line explanation, and every trigger it *discarded* because the clause denies the practice
("we do not sell ...") is reported too, so a reader can check the reasoning clause by clause.

The rules were written from the label definitions and from common drafting patterns of US and EU
consumer terms, not fitted to a training set; :func:`evaluate` measures them on the clause corpus
shipped with the package (``resources/tos_corpus.jsonl``), whose ``heldout`` split was not used
while writing them.

This module needs only the standard library at import time; pandas and scikit-learn are imported
inside the functions that need them. It never imports IPython, ipywidgets or the CLI.

Examples
--------
>>> from faceleak.legal import tos
>>> result = tos.analyze_clause("We do not sell your personal information.")
>>> result.labels
()
>>> result = tos.analyze_clause("You grant us a perpetual, irrevocable licence to your photos.")
>>> result.labels
('LICENSE_PERPETUAL_IRREVOCABLE',)
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = [
    "LABELS",
    "LABEL_COLORS",
    "MAX_INPUT_BYTES",
    "ClauseResult",
    "EvaluationResult",
    "TosInputError",
    "TosReport",
    "analyze",
    "analyze_clause",
    "decode_input",
    "evaluate",
    "highlight_html",
    "html_to_text",
    "laws_for",
    "load_corpus",
    "load_document",
    "load_law_map",
    "list_documents",
    "markdown_to_text",
    "service_matrix",
    "split_clauses",
]

#: The clause taxonomy: label name -> what a clause must *do* to carry the label.
LABELS: dict[str, str] = {
    "LICENSE_PERPETUAL_IRREVOCABLE": "a licence is granted perpetual and/or irrevocable",
    "SUBLICENSABLE": "the licensee may sublicense the rights it receives",
    "TRAINING_USE": "content or data may be used to train or improve models",
    "BIOMETRIC_DATA": "face geometry, faceprints or other biometric identifiers are collected "
    "or processed",
    "THIRD_PARTY_SHARING": "data is shared with or sold to third parties, affiliates or partners",
    "DATA_RETENTION": "the clause says how long data is kept (or when it is deleted)",
    "DELETION_RIGHT": "the user can delete data or have it deleted",
    "ARBITRATION": "disputes go to binding arbitration",
    "CLASS_ACTION_WAIVER": "the user waives class or representative actions",
    "LIABILITY_CAP": "the provider's liability is limited to an amount",
    "UNILATERAL_CHANGE": "the provider may change the terms unilaterally",
    "GOVERNING_LAW": "the clause names the governing law or the venue (courts, seat)",
    "CROSS_BORDER_TRANSFER": "data is stored or transferred in another country",
}

#: Background colours used by :func:`highlight_html`, one per label (colour-blind friendly-ish).
LABEL_COLORS: dict[str, str] = {
    "LICENSE_PERPETUAL_IRREVOCABLE": "#fdd49e",
    "SUBLICENSABLE": "#fdbb84",
    "TRAINING_USE": "#c6dbef",
    "BIOMETRIC_DATA": "#fcbba1",
    "THIRD_PARTY_SHARING": "#d9f0a3",
    "DATA_RETENTION": "#e5e5e5",
    "DELETION_RIGHT": "#c7e9c0",
    "ARBITRATION": "#dadaeb",
    "CLASS_ACTION_WAIVER": "#bcbddc",
    "LIABILITY_CAP": "#fee391",
    "UNILATERAL_CHANGE": "#f2f0f7",
    "GOVERNING_LAW": "#d0d1e6",
    "CROSS_BORDER_TRANSFER": "#a6bddb",
}

#: Inputs above this size are refused: a long ToS is ~100 kB, so 2 MB is far beyond any real one.
MAX_INPUT_BYTES = 2_000_000


class TosInputError(ValueError):
    """Raised for input the analyzer cannot or should not read (empty, binary, too large)."""


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

_FLAGS = re.IGNORECASE
_W = r"(?:[\w'’\-]+[\s,]+)"  # one word plus following space/comma, for bounded gaps


@dataclass(frozen=True)
class _Rule:
    """One trigger pattern for a label.

    ``context`` (if given) must also match somewhere in the same clause; ``veto`` must not match
    in the same segment; ``negatable`` is False where the negation is part of the drafting
    pattern itself ("not as a plaintiff or class member").
    """

    label: str
    pattern: re.Pattern[str]
    why: str
    context: re.Pattern[str] | None = None
    veto: re.Pattern[str] | None = None
    negatable: bool = True


def _r(
    label: str,
    pattern: str,
    why: str,
    context: str | None = None,
    veto: str | None = None,
    negatable: bool = True,
) -> _Rule:
    return _Rule(
        label,
        re.compile(pattern, _FLAGS),
        why,
        re.compile(context, _FLAGS) if context else None,
        re.compile(veto, _FLAGS) if veto else None,
        negatable,
    )


_DATA = r"(?:data|information|content|inputs?|outputs?|materials?|photos?|photographs?|images?)"
_RECIPIENT = (
    r"(?:third[- ]part(?:y|ies)(?:\s+(?:services?|providers?))?|affiliates?|subsidiaries|"
    r"(?:business |advertising |marketing )?partners?|service providers?|cloud providers?|"
    r"vendors?|corporate group|law enforcement|advertisers?|researchers?)"
)
_SHARE_VERB = (
    r"(?:shar(?:e|es|ed|ing)|disclos(?:e|es|ed|ing)|sell|sells|sold|sale of|"
    r"transfer(?:s|red|ring)?|"
    r"provid(?:e|es|ed|ing)\s+(?:\w+\s+){0,4}?to|make available to|made available to|"
    r"access to (?:\w+\s+){0,3}?(?:data|information|content)|given\s+(?:\w+\s+){0,2}access|"
    r"be accessed|receiv\w*(?!\s+(?:\w+\s+){0,3}from)|process(?:es|ed|ing)?\b|"
    r"upload(?:s|ed|ing)?\b|"
    r"report(?:s|ed|ing)?\b)"
)
_AMOUNT = (
    r"(?:[$€£¥]\s?\d|\d[\d,.]*\s?(?:dollars|euros|usd|eur|yen|円)|one hundred dollars|"
    r"amounts?\s+(?:that\s+)?(?:you\s+)?(?:have\s+)?(?:actually\s+)?paid|fees?\s+(?:\w+\s+)?paid|"
    r"greater of|lesser of)"
)

_RULES: tuple[_Rule, ...] = (
    # --- licence duration -------------------------------------------------------------------
    _r(
        "LICENSE_PERPETUAL_IRREVOCABLE",
        r"\b(?:perpetual(?:ly)?|irrevocabl[ey]|in perpetuity)\b(?!\s+waive)",
        "the licence is described as perpetual or irrevocable",
        context=r"licen[cs]|\bgrant",
    ),
    _r(
        "LICENSE_PERPETUAL_IRREVOCABLE",
        r"(?:永続的|永久|取消し?不能|撤回不能|取り消すことができない)",
        "the licence is described as permanent or non-revocable (Japanese)",
        context=r"ライセンス|許諾|使用権|利用権",
    ),
    # --- sublicensing -----------------------------------------------------------------------
    _r(
        "SUBLICENSABLE",
        r"\bsub-?licens(?:able|e|es|ed|ing)\b|through multiple tiers",
        "the licensee may pass the rights on (sublicense)",
    ),
    _r("SUBLICENSABLE", r"再許諾|サブライセンス", "sublicensing is allowed (Japanese)"),
    # --- training ---------------------------------------------------------------------------
    _r(
        "TRAINING_USE",
        r"\btrain(?:s|ed|ing)?\s+" + _W + r"{0,6}?(?:models?|algorithms?|AI\b|artificial "
        r"intelligence|machine learning|technolog\w*|neural)",
        "content or data may be used to train models",
        veto=r"\bcompet\w*",
    ),
    _r(
        "TRAINING_USE",
        r"\b(?:model training|training (?:of |our |its )?(?:\w+ )?models?)\b",
        "the clause names model training",
        veto=r"\bcompet\w*",
    ),
    _r(
        "TRAINING_USE",
        r"\b(?:improv|develop|enhanc|evolv|optimi[sz])\w*\s+" + _W + r"{0,4}?(?:\w+'\s+)?"
        r"(?:AI models?|models?|algorithms?|machine learning)",
        "content or data may be used to improve models",
        context=r"\b(?:your|users?'?|inputs?|outputs?|content|data|materials?|information)\b",
        veto=r"\bcompet\w*",
    ),
    _r(
        "TRAINING_USE",
        r"(?:学習|トレーニング|訓練)",
        "content or data may be used to train models (Japanese)",
        context=r"モデル|AI|人工知能|アルゴリズム",
    ),
    # --- biometrics -------------------------------------------------------------------------
    _r(
        "BIOMETRIC_DATA",
        r"\bbiometric\w*|\bface ?prints?\b|\bvoice ?prints?\b|\bfingerprints?\b|"
        r"\b(?:face|facial) (?:geometry|recognition|templates?|scans?|landmarks?|embeddings?|"
        r"features?|measurements?|signatures?)\b|\bscans? of (?:hand or )?face geometry\b|"
        r"\b(?:retina|iris) scans?\b|\bface (?:and|or) body (?:features|attributes)\b",
        "the clause refers to biometric identifiers such as faceprints or face geometry",
    ),
    _r(
        "BIOMETRIC_DATA",
        r"生体(?:情報|データ|認証)|顔(?:認証|認識|特徴|の特徴)|バイオメトリ|指紋|声紋",
        "the clause refers to biometric data (Japanese)",
    ),
    # --- sharing ----------------------------------------------------------------------------
    _r(
        "THIRD_PARTY_SHARING",
        r"\b" + _RECIPIENT + r"\b",
        "data goes to a recipient outside the provider (third party, affiliate, partner)",
        context=r"\b" + _SHARE_VERB,
        veto=r"\bassign\w*|rights and obligations|not (?:under|responsible)|"
        r"receiv\w*\s+(?:\w+\s+){0,3}from|at your (?:own )?risk|indemnif\w*|infring\w*|"
        r"violat\w*|confidential information",
    ),
    _r(
        "THIRD_PARTY_SHARING",
        r"\b(?:sell|share|disclose)\s+(?:your\s+)?(?:personal\s+|private\s+)?" + _DATA,
        "the provider may sell, share or disclose user data",
    ),
    _r(
        "THIRD_PARTY_SHARING",
        r"\b(?:sell|sells|sold|share|shares|shared|disclose\w*|transfer)\b[^.;]{0,120}?\b(?:your "
        r"(?:personal )?(?:information|data)|personal (?:information|data)|(?:information|data) "
        r"we collect)\b",
        "the provider may sell, share or transfer personal data (e.g. in a business transfer)",
        veto=r"\bassign\w*|rights and obligations",
    ),
    _r(
        "THIRD_PARTY_SHARING",
        r"第三者(?:に|へ|と)(?:\S{0,6})(?:提供|共有|開示|販売|提出)|(?:提供|共有|開示|販売)(?:\S{0,6})第三者",
        "data is provided to third parties (Japanese)",
    ),
    # --- retention --------------------------------------------------------------------------
    _r(
        "DATA_RETENTION",
        r"\b(?:retain|retains|retained|retaining|retention)\b",
        "the clause states that (or how long) data is retained",
        veto=r"\bretain\w*\s+(?:all\s+|any\s+)?(?:your\s+|its\s+|their\s+|our\s+)?"
        r"(?:ownership|rights?|title|copyright|intellectual)",
    ),
    _r(
        "DATA_RETENTION",
        r"\bfor as long as (?:necessary|needed|required|you (?:have|maintain) an account)",
        "retention is tied to a purpose or to the account",
        context=r"\b(?:keep|kept|store|stored|retain|hold|held|data|information)\b",
    ),
    _r(
        "DATA_RETENTION",
        r"\b(?:within|after|for(?: a (?:limited )?period of)?|up to|before the)\s+"
        r"\d+(?:\s?[-–]\s?\d+)?"
        r"\s*(?:\(\d+\)\s*)?(?:hours?|days?|weeks?|months?|years?)\b",
        "a concrete period is given for keeping or deleting data",
        context=r"\b(?:delet\w*|eras\w*|remov\w*|remain\w*|kept|keep|stor\w*|retain\w*|purg\w*)",
        veto=r"\b(?:cause of action|claims?|notice|opt[- ]out|refund|arbitration)\b",
    ),
    _r(
        "DATA_RETENTION",
        r"保存期間|保管期間|保持期間|保存(?:し|いた)ます|保管(?:し|いた)ます",
        "the clause states how long data is stored (Japanese)",
    ),
    # --- deletion right ---------------------------------------------------------------------
    _r(
        "DELETION_RIGHT",
        r"\byou(?:\s+can(?:not|['’]t)?|\s+may(?: not)?|\s+could|"
        r"\s+have the (?:right|option|ability) to|\s+are "
        r"(?:able|entitled) to)(?:\s+also)?(?:\s+\w+,?\s+(?:or|and))?\s+"
        r"(?:delete|erase|remove|request (?:that we |us to )?(?:delete|erase|remove))\b",
        "the user can delete data or ask for deletion",
    ),
    _r(
        "DELETION_RIGHT",
        r"\b(?:ask|request|require)\w*\s+(?:us\s+|that we\s+)?(?:to\s+)?(?:\w+,?\s+){0,5}?"
        r"(?:delete|erase|remove|deletion|erasure)\b",
        "the user may request deletion",
        veto=r"\breserves? the right",
    ),
    _r(
        "DELETION_RIGHT",
        r"(?<!reserve )(?<!reserves )\bright (?:to|of) (?:request\s+)?(?:the\s+)?"
        r"(?:\w+\s+(?:or|and)\s+)?(?:deletion|erasure|delete|erase|be forgotten)\b",
        "the clause grants a right to deletion or erasure",
    ),
    _r(
        "DELETION_RIGHT",
        r"\bupon (?:the )?(?:cancellation|deletion|closure|termination) of your account,?\s+"
        r"(?:we|\w+)\s+(?:will|shall)\s+" + _W + r"{0,5}?(?:delete|erase)",
        "closing the account leads to deletion",
    ),
    _r(
        "DELETION_RIGHT",
        r"削除(?:を)?(?:請求|要求|依頼|求める|申し出|することができ|できます)",
        "the user may request deletion (Japanese)",
    ),
    # --- arbitration ------------------------------------------------------------------------
    _r(
        "ARBITRATION",
        r"\b(?:binding|final|mandatory|individual|confidential)\b[\w\s,]{0,30}?\barbitration\b|"
        r"\b(?:resolved|settled|submitted|decided|arbitrated)\s+(?:\w+\s+){0,4}?(?:by|to|through|"
        r"in)\s+(?:\w+[\s,]+){0,3}?arbitration\b|\bagree(?:ment)? to arbitrate\b|"
        r"\barbitration agreement\b|\b(?:must|shall|will) be arbitrated\b|"
        r"\bthe arbitration (?:will|shall) be\b|"
        r"\b(?:JAMS|American Arbitration Association|ICDR|National Arbitration and Mediation)\b",
        "disputes are sent to (binding) arbitration instead of court",
    ),
    _r("ARBITRATION", r"仲裁", "disputes are sent to arbitration (Japanese)"),
    # --- class-action waiver ----------------------------------------------------------------
    _r(
        "CLASS_ACTION_WAIVER",
        r"\bon an individual basis\b|\bnot (?:as a|on a) (?:plaintiff or )?class\b|"
        r"\bclass (?:member|or collective basis)\b",
        "claims may only be brought individually, not as a class",
        context=r"\bclass|representative|collective",
        negatable=False,
    ),
    _r(
        "CLASS_ACTION_WAIVER",
        r"\b(?:class[- ]action|class[- ]wide|class arbitration|representative (?:action|"
        r"proceeding)s?|collective action)\b",
        "the clause limits class or representative actions",
        context=r"waiv|individual|\bonly\b|\bnot\b|\bno\b|may not|cannot|permitted",
        negatable=False,
        veto=r"\b(?:do|does|will) not waive\b|\bnothing in\b|\bdoes not\b[^.;]*\bprevent\b",
    ),
    _r(
        "CLASS_ACTION_WAIVER", r"集団訴訟|クラスアクション", "class actions are excluded (Japanese)"
    ),
    # --- liability cap ----------------------------------------------------------------------
    _r(
        "LIABILITY_CAP",
        r"\b(?:(?:shall|will|may|to|does|do) not exceed|exceed|limited to|capped at|cap of|"
        r"in no event (?:\w+\s+){0,4}?exceed|maximum (?:aggregate )?liability)\b[^.]{0,200}?"
        + _AMOUNT,
        "liability is capped at an amount",
        context=r"\bliabilit|\bliable\b|\bdamages\b",
    ),
    _r(
        "LIABILITY_CAP",
        r"(?:賠償|責任)[^。]{0,60}(?:上限|限度|を超えない|を超えて)",
        "liability is capped (Japanese)",
    ),
    # --- unilateral change ------------------------------------------------------------------
    _r(
        "UNILATERAL_CHANGE",
        r"\b(?:we|us|company|\w+)\s+(?:may|can|will|reserves? the right to|is entitled to)\s+"
        r"(?:\w+\s+){0,3}?(?:change|changes|modify|amend|update|revise)\w*\s+(?:\w+\s+){0,3}?"
        r"(?:terms|agreement|(?:privacy )?polic(?:y|ies)|conditions)\b",
        "the provider may change the terms",
    ),
    _r(
        "UNILATERAL_CHANGE",
        r"\b(?:terms|agreement|polic(?:y|ies))\s+(?:\w+\s+){0,2}?(?:is|are|may be|can be|will "
        r"be)\s+(?:subject to change|updated|changed|modified|amended|revised)\b",
        "the terms may be changed",
    ),
    _r(
        "UNILATERAL_CHANGE",
        r"\bcontinu\w*\s+(?:to\s+)?(?:use|using|access)\w*[^.]{0,80}\b(?:accept|agree|constitutes)",
        "continued use counts as acceptance of changed terms",
        context=r"\bchang|updat|modif|revis|amend",
    ),
    _r(
        "UNILATERAL_CHANGE",
        r"(?:本規約|利用規約|規約|プライバシーポリシー)[^。]{0,30}(?:変更|改定)",
        "the provider may change the terms (Japanese)",
    ),
    # --- governing law / venue --------------------------------------------------------------
    _r(
        "GOVERNING_LAW",
        r"\bgoverned\s+(?:\w+\s+){0,6}?by\s+(?:\w+\s+){0,5}?laws?\b|\b\w+ law (?:will|shall) "
        r"govern\b|\blaws? of the jurisdiction\b|\b(?:construed|interpreted)\s+(?:and\s+\w+\s+)?"
        r"(?:in accordance with|under|according to)\s+(?:the\s+)?[\w\s]{0,30}?laws?\b|"
        r"\bgoverned by the laws?\b",
        "the clause chooses the governing law",
    ),
    _r(
        "GOVERNING_LAW",
        r"\bexclusive jurisdiction\b|"
        r"\b(?:state|federal|local|competent)\s+(?:or\s+\w+\s+)?courts?\b|"
        r"\bcourts?\s+(?:located|sitting)\s+in\b|\bvenue\b|\b(?:conducted|seated|held) in [A-Z]"
        r"[\w]+(?: County)?",
        "the clause names the courts or place where disputes are heard",
        veto=r"\bsmall claims court\b(?![^.]*\b(?:state|federal|courts of)\b)",
    ),
    _r("GOVERNING_LAW", r"準拠法|合意管轄|管轄裁判所|専属的", "governing law or court (Japanese)"),
    # --- cross-border -----------------------------------------------------------------------
    _r(
        "CROSS_BORDER_TRANSFER",
        r"\boutside (?:of )?(?:the |your |certain |their |its )?(?:home )?"
        r"(?:country|countries|state|province|jurisdiction|"
        r"region|EEA|European Economic Area|European Union|EU|UK|United States|U\.S\.)|"
        r"\bcross-border\b|\binternational (?:data )?transfers?\b|\bstandard contractual clauses\b|"
        r"\bprivacy shield\b|\badequacy decision\b|\bthird countr(?:y|ies)\b|"
        r"\b(?:storage|data storage|server)s?\s+location\b",
        "data leaves the user's country or its location is specified",
        context=r"\b(?:data|information|stor\w*|transfer\w*|process\w*|servers?|host\w*|"
        r"accessed)\b",
    ),
    _r(
        "CROSS_BORDER_TRANSFER",
        r"\b(?:transfer\w*|stor\w*|process\w*|host\w*|transmit\w*)\b[^.]{0,120}?\b(?:in|to|into)\s+"
        r"(?:the\s+)?(?:United States|U\.S\.|US|People['’]s Republic of China|China|PRC|Singapore|"
        r"Japan|India|Russia|other countries|another country)\b",
        "data is stored or processed in a named foreign country",
    ),
    _r(
        "CROSS_BORDER_TRANSFER",
        r"(?:国外|海外|外国|越境)[^。]{0,30}(?:移転|保存|保管|提供|処理)",
        "data is transferred abroad (Japanese)",
    ),
)

# Negation: a negator in the same segment, shortly before a trigger, cancels that trigger.
_NEGATOR = re.compile(
    r"\b(?:not|never|neither|nor|cannot|without|refrain\w* from)\b|n['’]t\b|\bno\b(?![-‐])",
    _FLAGS,
)
# Phrases whose negation words do not deny the practice that follows.
_NEGATION_EXEMPT = re.compile(
    r"\b(?:but|and) not limited to\b|\bnot only\b|\bwhether or not\b|\bno later than\b|"
    r"\bif you (?:do not|don['’]t) (?:want|wish|agree)\b|\bno longer\b|\bnot be construed\b|"
    r"\bwithout (?:limitation|notice|prior notice|charge|(?:\w+\s+)?consent|obtaining)\b|"
    r"\bno(?:n)?[- ]exclusive\b|\bno obligation\b|\b(?:shall|will|may|to|does|do) not exceed\b|"
    r"\bin no event\b",
    _FLAGS,
)
_JA_NEGATION = re.compile(
    r"(?:しません|しない|いたしません|ません|ないもの|ございません|ことはない)"
)
# Segment boundaries: sentence punctuation, semicolons, and words that start a contrast or
# exception ("we do not share X, except with Y": the negation must not reach Y).
_SEGMENT_SPLIT = re.compile(
    r"[.;:!?。！？]\s|[;；]|\b(?:but|however|except|unless|although|other than|"
    r"with the exception of|provided that|excluding)\b|（|\(with",
    _FLAGS,
)
_DEFINITION = re.compile(
    r"^\s*[\"“'‘]+[^\"”'’]{1,60}[\"”'’]+\s*(?:\([^)]*\)\s*)?(?:refers? to|means|shall mean|"
    r"is defined as|includes)\b",
    _FLAGS,
)
_MODAL = re.compile(r"\b(?:will|shall|must|may|can|should)\b", _FLAGS)
_NEGATION_WINDOW = 12  # words between the negator and the trigger


def _segments(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that a negation cannot cross."""
    spans, start = [], 0
    for m in _SEGMENT_SPLIT.finditer(text):
        spans.append((start, m.start()))
        start = m.start()
    spans.append((start, len(text)))
    return spans


def _segment_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for a, b in spans:
        if a <= pos < b:
            return a, b
    return spans[-1]


def _negated(text: str, seg: tuple[int, int], start: int, end: int) -> str | None:
    """Return the negating phrase if the trigger at ``start:end`` is denied, else None."""
    # "non-sublicensable", "non-perpetual": the prefix negates only the word it is attached to.
    prefix = text[max(0, start - 4) : start].lower()
    if prefix.endswith(("non-", "non")):
        return text[start - 4 : end]
    # Negators inside the match count too ("we will not change these Terms").
    before = text[seg[0] : end]
    # A trigger inside an open parenthesis ("... sensitive data (e.g., biometric data)")
    # elaborates the object before the bracket: measure the window from the bracket.
    depth_open = before.rfind("(")
    if depth_open != -1 and ")" not in before[depth_open:]:
        before = before[:depth_open]
    cleaned = _NEGATION_EXEMPT.sub(lambda m: " " * len(m.group(0)), before)
    words = list(re.finditer(r"\S+", cleaned))
    window_start = words[-_NEGATION_WINDOW].start() if len(words) >= _NEGATION_WINDOW else 0
    negs = [m for m in _NEGATOR.finditer(cleaned) if m.start() >= window_start]
    # A new modal verb after the negator starts another clause ("claims that cannot be heard in
    # small claims court will be resolved in the courts of ..."): the negation stays behind.
    negs = [n for n in negs if not _MODAL.search(cleaned[n.end() :])]
    if negs:
        n = negs[-1]
        return text[seg[0] + n.start() : start + (end - start)].strip()
    # Japanese negates after the verb: look a short way past the trigger, within the sentence.
    after = text[end : seg[1]][:25]
    if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text[start:end]):
        m = _JA_NEGATION.search(after)
        if m:
            return text[start : end + m.end()]
    return None


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseResult:
    """The analysis of one clause.

    Attributes
    ----------
    text
        The clause as analysed.
    labels
        The labels assigned, in taxonomy order.
    evidence
        For each assigned label, the matched text spans (what triggered it).
    explanations
        For each assigned label, a one-line explanation.
    negated
        For each label whose triggers were *all* cancelled by a negation, the negated spans.
        These labels are not assigned; they are reported so the reader can check the decision.
    spans
        ``(start, end, label)`` character offsets of the evidence in ``text`` (for highlighting).
    index
        Position of the clause in its document (0 for a single clause).
    """

    text: str
    labels: tuple[str, ...]
    evidence: dict[str, list[str]]
    explanations: dict[str, str]
    negated: dict[str, list[str]] = field(default_factory=dict)
    spans: tuple[tuple[int, int, str], ...] = ()
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: ``text``, ``labels``, ``evidence``, explanations and negations."""
        return {
            "text": self.text,
            "labels": list(self.labels),
            "evidence": {k: list(v) for k, v in self.evidence.items()},
            "explanations": dict(self.explanations),
            "negated": {k: list(v) for k, v in self.negated.items()},
        }


@dataclass
class TosReport:
    """The analysis of a whole document: one :class:`ClauseResult` per clause.

    Attributes
    ----------
    clauses
        Every clause of the document, labelled or not, in document order.
    source
        Where the text came from (file name, ``"<stdin>"`` or a description).
    """

    clauses: list[ClauseResult]
    source: str = "<text>"

    @property
    def flagged(self) -> list[ClauseResult]:
        """The clauses that carry at least one label."""
        return [c for c in self.clauses if c.labels]

    def label_counts(self) -> dict[str, int]:
        """Number of clauses per label (all labels, zeros included)."""
        counts = dict.fromkeys(LABELS, 0)
        for clause in self.clauses:
            for label in clause.labels:
                counts[label] += 1
        return counts

    def to_records(self, flagged_only: bool = False) -> list[dict[str, Any]]:
        """List of :meth:`ClauseResult.to_dict` records."""
        rows = self.flagged if flagged_only else self.clauses
        return [c.to_dict() for c in rows]

    def to_dataframe(self, flagged_only: bool = False) -> pd.DataFrame:
        """One row per clause: ``index``, ``text``, ``labels``, ``evidence``, ``negated``.

        The list-valued columns are joined into strings so the frame prints well in a notebook.
        """
        import pandas as pd

        rows = self.flagged if flagged_only else self.clauses
        return pd.DataFrame(
            [
                {
                    "index": c.index,
                    "text": c.text,
                    "labels": ", ".join(c.labels),
                    "evidence": "; ".join(f"{k}: {' | '.join(v)}" for k, v in c.evidence.items()),
                    "negated": "; ".join(f"{k}: {' | '.join(v)}" for k, v in c.negated.items()),
                }
                for c in rows
            ],
            columns=["index", "text", "labels", "evidence", "negated"],
        )

    def to_html(self, flagged_only: bool = True) -> str:
        """HTML with every (flagged) clause highlighted; see :func:`highlight_html`."""
        rows = self.flagged if flagged_only else self.clauses
        return "\n".join(highlight_html(c) for c in rows)


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------


def analyze_clause(text: str, index: int = 0) -> ClauseResult:
    """Tag one clause with labels, evidence and explanations.

    Parameters
    ----------
    text
        The clause (one sentence or a short paragraph). English and Japanese are supported;
        other languages simply receive no labels.
    index
        Position of the clause in its document, stored on the result.

    Returns
    -------
    ClauseResult
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if _DEFINITION.match(text):
        # A definition names a term; it grants, imposes or discloses nothing by itself.
        return ClauseResult(text, (), {}, {}, {}, (), index)
    spans = _segments(text)
    evidence: dict[str, list[str]] = {}
    explanations: dict[str, str] = {}
    negated: dict[str, list[str]] = {}
    hl: list[tuple[int, int, str]] = []
    for rule in _RULES:
        if rule.context is not None and not rule.context.search(text):
            continue
        for m in rule.pattern.finditer(text):
            seg = _segment_of(spans, m.start())
            if rule.veto is not None and rule.veto.search(text[seg[0] : seg[1]]):
                continue
            neg = _negated(text, seg, m.start(), m.end()) if rule.negatable else None
            if neg is not None:
                negated.setdefault(rule.label, []).append(neg)
                continue
            found = m.group(0).strip()
            if found not in evidence.setdefault(rule.label, []):
                evidence[rule.label].append(found)
            explanations.setdefault(rule.label, rule.why)
            hl.append((m.start(), m.end(), rule.label))
    evidence = {k: v for k, v in evidence.items() if v}
    negated = {k: v for k, v in negated.items() if k not in evidence}
    labels = tuple(label for label in LABELS if label in evidence)
    if "ARBITRATION" in evidence and re.search(r"\bopt[- ]?out\b", text, _FLAGS):
        explanations["ARBITRATION"] += " (the clause mentions an opt-out: check its deadline)"
    return ClauseResult(
        text=text,
        labels=labels,
        evidence=evidence,
        explanations=explanations,
        negated=negated,
        spans=tuple(sorted(hl)),
        index=index,
    )


def analyze(text: str, source: str = "<text>") -> TosReport:
    """Split a document into clauses and analyse each one.

    Parameters
    ----------
    text
        Plain text of a terms-of-service or privacy document (strip HTML or Markdown first with
        :func:`html_to_text` / :func:`markdown_to_text`, or use :func:`decode_input`).
    source
        A description of where the text came from, stored on the report.

    Returns
    -------
    TosReport
    """
    return TosReport([analyze_clause(c, i) for i, c in enumerate(split_clauses(text))], source)


# ---------------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------------

_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "etc.",
    "inc.",
    "ltd.",
    "llc.",
    "co.",
    "corp.",
    "no.",
    "art.",
    "arts.",
    "sec.",
    "cf.",
    "vs.",
    "u.s.",
    "u.k.",
    "st.",
    "dr.",
    "mr.",
    "ms.",
)
_BULLET = re.compile(
    r"^\s*(?:[-*•·・●◦▪]|\(?[0-9]{1,3}[.)]|\(?[a-zA-Z][.)]|\([ivxlc]+\)|[0-9]+(?:\.[0-9]+)+\.?)\s+"
)
_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s+|(?:section|article|第)\s*[0-9０-９一二三四五六七八九十]+)", _FLAGS
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])|(?<=[。！？])")
_MIN_CLAUSE_WORDS = 4


def _is_heading(line: str) -> bool:
    stripped = line.strip().strip("*_#").strip()
    if not stripped:
        return True
    if _HEADING.match(line) and len(stripped.split()) <= 10 and not stripped.endswith((".", "。")):
        return True
    # Short lines without final punctuation are titles ("Limitation of Liability").
    ends = (".", "。", ":", ";", "!", "?", "！", "？", "：")
    return len(stripped.split()) <= 8 and not stripped.endswith(ends) and len(stripped) < 70


def _split_sentences(block: str) -> list[str]:
    pieces, buf = [], ""
    for part in _SENTENCE_END.split(block):
        if not part:
            continue
        buf = f"{buf} {part}".strip() if buf else part.strip()
        last = buf.rsplit(None, 1)[-1].lower() if buf.split() else ""
        if last in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.){1,3}", last or "-"):
            continue  # "e.g." or "U.S." is not a sentence end
        pieces.append(buf)
        buf = ""
    if buf:
        pieces.append(buf)
    return pieces


def split_clauses(text: str) -> list[str]:
    """Split a document into clauses.

    Blocks are separated by blank lines, list bullets and numbered items (``1.``, ``(a)``,
    ``3.2``); headings are dropped; each block is split into sentences at ``. ! ?`` followed by
    a capital letter (common abbreviations such as "e.g." and "U.S." excepted) and after the
    Japanese sentence endings 。！？. Fragments shorter than four words ("Opt out.") are glued
    to the following sentence, so an inline heading stays with the clause it introduces.

    Parameters
    ----------
    text
        Plain text.

    Returns
    -------
    list of str
        Clauses in document order, whitespace-normalised.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for line in text.split("\n"):
        if not line.strip() or re.fullmatch(r"\s*[=\-_*]{3,}\s*", line):
            flush()
            continue
        if _BULLET.match(line):
            flush()
            line = _BULLET.sub("", line, count=1)
        elif _is_heading(line):
            flush()
            continue
        current.append(line.strip())
    flush()

    clauses: list[str] = []
    for block in blocks:
        carry = ""
        for sentence in _split_sentences(re.sub(r"\s+", " ", block)):
            sentence = f"{carry} {sentence}".strip() if carry else sentence
            is_cjk = bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", sentence))
            if not is_cjk and len(sentence.split()) < _MIN_CLAUSE_WORDS:
                carry = sentence
                continue
            carry = ""
            clauses.append(sentence)
        if carry:
            if clauses and len(carry.split()) < _MIN_CLAUSE_WORDS and not _is_heading(carry):
                clauses[-1] = f"{clauses[-1]} {carry}"
            elif len(carry.split()) >= 2:
                clauses.append(carry)
    return clauses


# ---------------------------------------------------------------------------------------------
# Input handling (files, stdin, HTML, Markdown)
# ---------------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    _BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "section",
        "article",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "blockquote",
        "pre",
        "hr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n" if tag != "li" else "\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Strip HTML to plain text, keeping paragraph and list structure as blank lines / bullets."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\xa0]+", " ", text)
    return re.sub(r"\n\s*\n\s*(?:\n\s*)+", "\n\n", text).strip()


def markdown_to_text(markdown: str) -> str:
    """Strip Markdown markup (emphasis, links, images, code, heading marks) to plain text."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", text)
    return text


def decode_input(data: bytes, name: str = "<input>", max_bytes: int | None = None) -> str:
    """Validate raw input and return plain text, stripping HTML or Markdown if present.

    This is the single place where untrusted input is checked.

    Parameters
    ----------
    data
        Raw bytes from a file or stdin.
    name
        File name (its suffix helps decide between HTML, Markdown and plain text).
    max_bytes
        Inputs larger than this are refused; default :data:`MAX_INPUT_BYTES`.

    Raises
    ------
    TosInputError
        If the input is empty, larger than ``max_bytes``, binary, or not valid UTF-8/UTF-16.
    """
    if max_bytes is None:
        max_bytes = MAX_INPUT_BYTES
    if len(data) > max_bytes:
        raise TosInputError(
            f"{name}: {len(data):,} bytes is over the {max_bytes:,}-byte limit; "
            "split the document or pass only the relevant part"
        )
    if not data.strip():
        raise TosInputError(f"{name}: input is empty; pass a file with the terms' text")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16")
    else:
        if b"\x00" in data[:8192]:
            raise TosInputError(
                f"{name}: looks like binary data (NUL bytes); pass plain text, Markdown or HTML "
                "(convert PDFs to text first)"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TosInputError(
                f"{name}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
            ) from exc
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 0.05 * min(len(text), 8192):
        raise TosInputError(f"{name}: looks like binary data (control characters)")
    suffix = Path(name).suffix.lower()
    head = text.lstrip()[:500].lower()
    if (
        suffix in {".html", ".htm", ".xhtml"}
        or head.startswith(("<!doctype html", "<html"))
        or (suffix not in {".md", ".markdown", ".txt"} and re.search(r"<(?:p|div|body|li)\b", head))
    ):
        text = html_to_text(text)
    elif suffix in {".md", ".markdown"} or re.search(r"^#{1,6} |\*\*\w|\]\(http", text, re.M):
        text = markdown_to_text(text)
    if not text.strip():
        raise TosInputError(f"{name}: no text left after stripping markup")
    return text


# ---------------------------------------------------------------------------------------------
# HTML highlighting (plain string building; no IPython import)
# ---------------------------------------------------------------------------------------------


def highlight_html(clause: ClauseResult | str, show_explanations: bool = True) -> str:
    """Render a clause as HTML with the evidence spans highlighted per label.

    Parameters
    ----------
    clause
        A :class:`ClauseResult`, or a string which is analysed first.
    show_explanations
        Add a list of labels, explanations and negations under the clause.

    Returns
    -------
    str
        An HTML fragment; display it with ``IPython.display.HTML`` or an ipywidgets ``HTML``.
    """
    if isinstance(clause, str):
        clause = analyze_clause(clause)
    text = clause.text
    # Merge overlapping spans so that every character is wrapped at most once.
    merged: list[list[Any]] = []
    for start, end, label in clause.spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            if label not in merged[-1][2]:
                merged[-1][2].append(label)
        else:
            merged.append([start, end, [label]])
    out, pos = [], 0
    for start, end, labels in merged:
        out.append(html.escape(text[pos:start]))
        colour = LABEL_COLORS.get(labels[0], "#ffff99")
        title = html.escape(", ".join(labels))
        out.append(
            f'<mark style="background:{colour};padding:0 2px" title="{title}">'
            f"{html.escape(text[start:end])}</mark>"
        )
        pos = end
    out.append(html.escape(text[pos:]))
    body = "".join(out)
    parts = [f'<div class="faceleak-tos-clause" style="margin:0.4em 0"><p>{body}</p>']
    if show_explanations:
        items = [
            f'<li><span style="background:{LABEL_COLORS[lab]};padding:0 4px">'
            f"<b>{lab}</b></span>: {html.escape(clause.explanations.get(lab, ''))}</li>"
            for lab in clause.labels
        ]
        items += [
            f"<li><s>{lab}</s>: not assigned, negated by "
            f"&ldquo;{html.escape(' | '.join(v))}&rdquo;</li>"
            for lab, v in clause.negated.items()
        ]
        if not items:
            items = ["<li>no label</li>"]
        parts.append(f'<ul style="margin-top:0">{"".join(items)}</ul>')
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Package data: corpus, documents, law map
# ---------------------------------------------------------------------------------------------

_REQUIRED_FIELDS = ("service", "source", "date", "text", "labels")


def _resource(name: str) -> Any:
    return resources.files("faceleak").joinpath("resources", name)


def load_corpus(split: str | None = None) -> list[dict[str, Any]]:
    """Load the clause corpus (JSON Lines) shipped with the package.

    Parameters
    ----------
    split
        ``"dev"`` (clauses looked at while writing the rules), ``"heldout"`` (services kept
        aside for testing) or None for all records.

    Returns
    -------
    list of dict
        Records with ``id``, ``service``, ``document``, ``source``, ``url``, ``date``, ``split``,
        ``text``, ``labels`` and optionally ``note``.
    """
    if split not in (None, "dev", "heldout"):
        raise ValueError(f"split must be None, 'dev' or 'heldout', not {split!r}")
    text = _resource("tos_corpus.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    for rec in records:
        missing = [f for f in _REQUIRED_FIELDS if not rec.get(f) and f != "labels"]
        bad = [lab for lab in rec.get("labels", []) if lab not in LABELS]
        if missing or bad or "labels" not in rec:
            raise ValueError(f"corpus record {rec.get('id')}: missing {missing}, bad labels {bad}")
    return [r for r in records if split is None or r.get("split") == split]


def list_documents() -> list[str]:
    """Names of the full documents shipped under ``resources/tos_documents``."""
    folder = _resource("tos_documents")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".txt"))


def load_document(name: str) -> tuple[str, str]:
    """Return ``(source_header, text)`` of a shipped full document.

    The first line of each file names its source; the rest is the document text.
    """
    if name not in list_documents():
        raise ValueError(f"unknown document {name!r}; available: {list_documents()}")
    raw = _resource("tos_documents").joinpath(name).read_text(encoding="utf-8")
    header, _, body = raw.partition("\n")
    return header.strip(), body


def load_law_map() -> dict[str, Any]:
    """Load the law map: ``{"laws": {key: {...}}, "labels": {LABEL: {...}}}``."""
    return json.loads(_resource("law_map.json").read_text(encoding="utf-8"))


def laws_for(label: str) -> list[dict[str, Any]]:
    """The law-map entries relevant to one label, each with its key, article, source and notes."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; expected one of {list(LABELS)}")
    law_map = load_law_map()
    entry = law_map["labels"][label]
    return [dict(law_map["laws"][key], key=key) for key in entry["laws"]]


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """Scores of the analyzer on a set of labelled clauses.

    Attributes
    ----------
    per_label
        DataFrame indexed by label with ``precision``, ``recall``, ``f1`` and ``support``.
    micro_precision, micro_recall, micro_f1
        Micro-averaged over all (clause, label) decisions.
    n_clauses
        Number of clauses evaluated.
    errors
        One dict per clause whose predicted label set differs from the gold set.
    """

    per_label: pd.DataFrame
    micro_precision: float
    micro_recall: float
    micro_f1: float
    n_clauses: int
    errors: list[dict[str, Any]]

    def summary(self) -> dict[str, float]:
        """The micro scores and the clause count as a plain dict."""
        d = asdict(self)
        return {k: d[k] for k in ("micro_precision", "micro_recall", "micro_f1", "n_clauses")}


def evaluate(records: Sequence[dict[str, Any]] | None = None) -> EvaluationResult:
    """Score the analyzer against gold labels with scikit-learn's multi-label metrics.

    Nothing is learned from the records, so no cross-validation is needed: the scores on the
    ``heldout`` split are the honest estimate of how the rules generalise.

    Parameters
    ----------
    records
        Labelled clauses (dicts with ``text`` and ``labels``); by default the whole corpus.

    Returns
    -------
    EvaluationResult
    """
    import pandas as pd
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    records = list(load_corpus() if records is None else records)
    if not records:
        raise ValueError("no records to evaluate")
    predictions = [analyze_clause(r["text"]) for r in records]
    mlb = MultiLabelBinarizer(classes=list(LABELS))
    y_true = mlb.fit_transform([r["labels"] for r in records])
    y_pred = mlb.transform([p.labels for p in predictions])
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    per_label = pd.DataFrame(
        {"precision": p, "recall": r, "f1": f, "support": s}, index=pd.Index(LABELS, name="label")
    )
    mp, mr, mf, _ = precision_recall_fscore_support(
        y_true, y_pred, average="micro", zero_division=0
    )
    errors = [
        {
            "id": rec.get("id"),
            "service": rec.get("service"),
            "text": rec["text"],
            "missed": sorted(set(rec["labels"]) - set(pred.labels)),
            "spurious": sorted(set(pred.labels) - set(rec["labels"])),
        }
        for rec, pred in zip(records, predictions, strict=True)
        if set(rec["labels"]) != set(pred.labels)
    ]
    return EvaluationResult(per_label, float(mp), float(mr), float(mf), len(records), errors)


def service_matrix(reports: dict[str, TosReport] | Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Services x labels matrix of clause counts.

    Parameters
    ----------
    reports
        Either ``{service: TosReport}`` or corpus-style records (``service`` and ``text``), which
        are analysed clause by clause.

    Returns
    -------
    pandas.DataFrame
        Rows are services, columns the 13 labels, values the number of clauses with the label.
    """
    import pandas as pd

    counts: dict[str, dict[str, int]] = {}
    if isinstance(reports, dict):
        for service, report in reports.items():
            counts[service] = report.label_counts()
    else:
        for rec in reports:
            row = counts.setdefault(rec["service"], dict.fromkeys(LABELS, 0))
            for label in analyze_clause(rec["text"]).labels:
                row[label] += 1
    return (
        pd.DataFrame.from_dict(counts, orient="index", columns=list(LABELS)).fillna(0).astype(int)
    )
