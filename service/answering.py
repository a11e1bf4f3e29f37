"""The answering core: a citizen's question in, a cited answer, a refusal or a hand-over out.

Order: requests for a person and complaints go to a person; greetings get a short reply; then the
curated FAQ; then policy passages; below the calibrated confidence, no guess: say so, suggest the
closest FAQ questions and offer a person. This module never imports a channel.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from indexer.encoders import Encoder
from indexer.models import Chunk, Disclosure, DocumentMeta, FaqEntry, Kind
from indexer.store import LoadedIndex
from indexer.textnorm import normalize, strip_punctuation
from service import replies
from service.citations import Source, annex_notes, apply_note, cite, validity_note
from service.decision import DecisionModel, default_decision
from service.faq_match import FaqMatcher, FaqResult
from service.intents import Intent, classify, strip_greeting
from service.passages import PassageHit, PassageResult, PassageRetriever
from service.query import QueryRep, prepare
from service.query_encoder import QueryEncoder
from service.sessions import MemorySessionStore, SessionStore, Turn, looks_like_follow_up
from service.tuning import DEFAULT_TUNING, Tuning

ACCEPT = 0.5  # in-domain confidence a ranking needs before it may be answered or offered
FOLLOW_UP_CONTEXT = 80  # characters of the previous question carried into a follow-up
OPTIONS = 3  # options of a clarification
PLAUSIBLE = 0.1
# Cosine at which the question is one of an FAQ entry's own curated questions or variants, asked
# as written: that match is right by definition, whatever the models estimate.
EXACT = 0.99  # FAQ confidence below which a declined question gets no suggestions
_CHOICE = re.compile(r"^(?:第|选|选择)?([1-3一二三])(?:个|项|条)?$")
_NUMERALS = {"一": 1, "二": 2, "三": 3}


class AnswerType(StrEnum):
    FAQ = "faq"
    PASSAGE = "passage"
    CLARIFY = "clarify"
    NONE = "none"
    HANDOFF = "handoff"
    SMALLTALK = "smalltalk"


@dataclass
class Answer:
    answer_id: str
    type: AnswerType
    answer: str
    confidence: float
    sources: list[Source] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    handoff: bool = False

    @property
    def answered(self) -> bool:
        return self.type in (AnswerType.FAQ, AnswerType.PASSAGE)


@dataclass
class Trace:
    """What the evaluation looks at, filled only by ``Answerer.ask_traced``: the rankings, what the
    citizen was shown (the answer, or the options of a clarification) and the decision's inputs."""

    question: str = ""
    faq_ranking: list[str] = field(default_factory=list)
    passage_ranking: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, excerpt)
    # ("faq", entry id, "") or ("passage", doc_id, excerpt): the answer shown, or each option.
    shown: list[tuple[str, str, str]] = field(default_factory=list)
    faq_signals: dict[str, float] = field(default_factory=dict)
    passage_signals: dict[str, float] = field(default_factory=dict)
    passage_options: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, excerpt)
    probabilities: dict[str, float] = field(default_factory=dict)
    admitted: dict[str, bool] = field(default_factory=dict)  # passed the in-domain gate


def _new_id() -> str:
    return uuid.uuid4().hex


class Answerer:
    def __init__(
        self,
        index: LoadedIndex,
        encoder: Encoder,
        *,
        tuning: Tuning = DEFAULT_TUNING,
        decision: DecisionModel | None = None,
        sessions: SessionStore | None = None,
        encode_slots: int = 1,
    ) -> None:
        self.index, self.encoder, self.tuning = index, encoder, tuning
        self.decision = decision if decision is not None else default_decision()
        self.encode = QueryEncoder(encoder, slots=encode_slots)
        self.sessions: SessionStore = sessions if sessions is not None else MemorySessionStore()
        self.faqs = FaqMatcher(index, tuning)
        self.passages = PassageRetriever(index, tuning)
        self.metas = {doc_id: record.meta for doc_id, record in index.documents.items()}
        self.chunk_row = {chunk.id: row for row, chunk in enumerate(self.passages.chunks)}
        # Every curated question and variant as written (without punctuation) → its entry.
        self.curated = {
            strip_punctuation(normalize(q)): entry.id
            for entry in index.faqs.values()
            for q in entry.questions
        }
        self.interpretations: dict[str, list[str]] = {}
        for meta in self.metas.values():
            if meta.kind == Kind.INTERPRETATION and meta.interprets:
                self.interpretations.setdefault(meta.interprets, []).append(meta.id)

    # ---- entry points --------------------------------------------------------------------------

    def ask(
        self, question: str, *, session_id: str | None = None, channel: str | None = None
    ) -> Answer:
        return self._ask(question, session_id=session_id, trace=None)

    def ask_traced(self, question: str, *, session_id: str | None = None) -> tuple[Answer, Trace]:
        """The answer and what the evaluation needs to judge it (not part of any response)."""
        trace = Trace()
        return self._ask(question, session_id=session_id, trace=trace), trace

    def _ask(self, question: str, *, session_id: str | None, trace: Trace | None) -> Answer:
        text = normalize(question)
        intent = classify(text)
        if trace is not None:
            trace.question = text
        if intent in (Intent.HUMAN, Intent.COMPLAINT):
            # Remembered, so that a follow-up to the hand-over keeps its topic.
            self.sessions.remember(session_id, Turn(text, False))
            return Answer(_new_id(), AnswerType.HANDOFF, replies.handoff(intent), 1.0, handoff=True)
        if intent != Intent.QUESTION:
            return Answer(_new_id(), AnswerType.SMALLTALK, replies.smalltalk(intent), 1.0)
        core = strip_greeting(text) or text
        previous = self.sessions.last(session_id)
        if previous is not None and previous.options:
            chosen = self._chosen(core, previous.options)
            if chosen is not None:
                answer = self._answer_option(chosen, previous.question)
                self.sessions.remember(session_id, Turn(previous.question, True))
                return answer
        effective = core
        if previous is not None and looks_like_follow_up(core):
            effective = f"{previous.question[:FOLLOW_UP_CONTEXT]} {core}"
        if trace is not None:
            trace.question = effective
        answer, options = self._answer(effective, trace)
        self.sessions.remember(session_id, Turn(effective, answer.answered, options))
        return answer

    # ---- answering one (effective) question ------------------------------------------------------

    def _answer(self, text: str, trace: Trace | None) -> tuple[Answer, tuple[str, ...]]:
        """The answer and, for a clarification, the references of its options."""
        query = prepare(text, self.encode)
        faq = self.faqs.match(query)
        passages = self.passages.search(query)
        faq_in = bool(faq.hits) and faq.confidence >= ACCEPT
        passage_in = bool(passages.hits) and passages.confidence >= ACCEPT
        p = {
            name: self.decision.probability(name, result.signals) if admitted else 0.0
            for name, result, admitted in (
                ("faq.right", faq, faq_in),
                ("faq.options", faq, faq_in),
                ("passage.right", passages, passage_in),
                ("passage.options", passages, passage_in),
            )
        }
        asked = self.curated.get(strip_punctuation(query.text))
        if faq_in and (faq.signals.get("dense", 0.0) >= EXACT or asked == faq.hits[0].entry.id):
            p["faq.right"] = max(p["faq.right"], faq.signals.get("dense", 0.0), 0.99)
        choice = self.decision.choose(p)
        passage_options = self._passage_options(passages)
        options: tuple[str, ...] = ()
        if choice == "faq":
            top = faq.hits[0].entry
            related = self._related(faq, exclude=top.id)
            answer = self._faq_answer(query, top, p["faq.right"], related)
            shown = [("faq", faq.hits[0].entry.id, "")]
        elif choice == "passage":
            related = self._related(faq)
            answer = self._passage_answer(query, passages.hits, p["passage.right"], related)
            shown = [("passage", passages.hits[0].chunk.doc_id, passages.hits[0].chunk.text)]
        elif choice == "clarify.faq":
            entries = [h.entry for h in faq.hits[:OPTIONS]]
            options = tuple(f"faq:{e.id}" for e in entries)
            answer = self._clarify([e.question for e in entries], p["faq.options"])
            shown = [("faq", e.id, "") for e in entries]
        elif choice == "clarify.passage":
            options = tuple(f"chunk:{h.chunk.id}" for h in passage_options)
            labels = [self._label(h.meta, h.chunk) for h in passage_options]
            answer = self._clarify(labels, p["passage.options"])
            shown = [("passage", h.chunk.doc_id, h.chunk.text) for h in passage_options]
        else:
            answer = self._decline(faq, max(faq.confidence, passages.confidence), max(p.values()))
            shown = []
        if trace is not None:
            trace.faq_ranking = [hit.entry.id for hit in faq.hits]
            trace.passage_ranking = [(h.chunk.doc_id, h.chunk.text) for h in passages.hits]
            trace.passage_options = [(h.chunk.doc_id, h.chunk.text) for h in passage_options]
            trace.shown = shown
            trace.faq_signals = dict(faq.signals)
            trace.passage_signals = dict(passages.signals)
            trace.probabilities = p
            trace.admitted = {"faq": faq_in, "passage": passage_in}
        return answer, options

    def _decline(self, faq: FaqResult, in_domain: float, confidence: float) -> Answer:
        """No guess. Suggestions and a person only when the question is near the window's topics;
        an off-topic question (the weather, a joke) is told what the window is for."""
        if faq.confidence < PLAUSIBLE and in_domain < PLAUSIBLE:
            return Answer(_new_id(), AnswerType.NONE, replies.OFF_TOPIC, confidence)
        related = self._related(faq) if faq.confidence >= PLAUSIBLE else []
        return Answer(
            _new_id(), AnswerType.NONE, replies.NOT_FOUND, confidence, related=related, handoff=True
        )

    def _clarify(self, labels: list[str], confidence: float) -> Answer:
        return Answer(
            _new_id(), AnswerType.CLARIFY, replies.clarify(labels), confidence, related=labels
        )

    def _passage_options(self, result: PassageResult) -> list[PassageHit]:
        """Up to three public excerpts with distinct labels (document and article)."""
        out: list[PassageHit] = []
        labels: set[str] = set()
        for hit in result.hits:
            label = self._label(hit.meta, hit.chunk)
            if hit.meta.disclosure == Disclosure.PUBLIC and label not in labels:
                labels.add(label)
                out.append(hit)
            if len(out) == OPTIONS:
                break
        return out

    @staticmethod
    def _label(meta: DocumentMeta, chunk: Chunk) -> str:
        last = chunk.section.split(" › ")[-1] if chunk.section else ""
        return f"《{meta.title}》" + (last if last and last != "正文" else "")

    def _chosen(self, text: str, options: tuple[str, ...]) -> str | None:
        """The option a citizen picked: its number (1–3, 第二个…) or its text sent back."""
        key = strip_punctuation(text)
        match = _CHOICE.match(key)
        if match:
            n = _NUMERALS.get(match.group(1)) or int(match.group(1))
            return options[n - 1] if n <= len(options) else None
        for ref in options:
            label = self._option_label(ref)
            if label is not None and strip_punctuation(normalize(label)) == key:
                return ref
        return None

    def _option_label(self, ref: str) -> str | None:
        kind, _, key = ref.partition(":")
        if kind == "faq":
            entry = self.index.faqs.get(key)
            return entry.question if entry else None
        row = self.chunk_row.get(int(key)) if kind == "chunk" and key.isdigit() else None
        if row is None:
            return None
        chunk = self.passages.chunks[row]
        return self._label(self.metas[chunk.doc_id], chunk)

    def _answer_option(self, ref: str, question: str) -> Answer:
        """The answer to the option a citizen chose: they confirmed it, so it is shown as sure."""
        kind, _, key = ref.partition(":")
        entry = self.index.faqs.get(key) if kind == "faq" else None
        if entry is not None:
            return self._faq_answer(prepare(entry.question, self.encode), entry, 1.0, [])
        row = self.chunk_row.get(int(key)) if kind == "chunk" and key.isdigit() else None
        if row is None:  # the index changed since the options were offered: ask afresh
            return self._answer(question, None)[0]
        chunk = self.passages.chunks[row]
        hit = PassageHit(chunk, self.metas[chunk.doc_id], 1.0)
        return self._passage_answer(prepare(question, self.encode), [hit], 1.0, [])

    def _related(self, faq: FaqResult, exclude: str | None = None) -> list[str]:
        return [h.entry.question for h in faq.hits if h.entry.id != exclude][: self.tuning.related]

    def _faq_answer(
        self, query: QueryRep, entry: FaqEntry, confidence: float, related: list[str]
    ) -> Answer:
        cited: list[tuple[DocumentMeta, Chunk | None, str | None]] = []
        notes = []
        for ref in entry.sources:
            meta = self.metas.get(ref.doc_id)
            if meta is None or meta.disclosure != Disclosure.PUBLIC:
                continue  # the indexer refuses such entries; an old index may still hold one
            chunk = self._article_chunk(meta, ref.article)
            cited.append((meta, chunk, None if chunk else ref.article))
            if not meta.is_current:
                notes.append(validity_note(meta, self._replacement(meta)))
        if cited:
            companions: list[tuple[DocumentMeta, Chunk]] = []
            self._add_companions(query, cited[0][0], companions)
            cited.extend(
                (m, c, None) for m, c in companions if m.id not in {x[0].id for x in cited}
            )
        sources = [cite(meta, chunk, section=section) for meta, chunk, section in cited]
        text = "".join(notes) + entry.answer.strip() + annex_notes(sources, self.index.documents)
        return Answer(
            _new_id(),
            AnswerType.FAQ,
            text,
            confidence,
            sources=sources,
            related=related,
        )

    def _article_chunk(self, meta: DocumentMeta, article: str | None) -> Chunk | None:
        rows = self.passages.rows_of_doc.get(meta.id, [])
        if not article:
            return None
        key = strip_punctuation(article)
        for row in rows:
            chunk = self.passages.chunks[row]
            last = strip_punctuation(chunk.section.split(" › ")[-1])
            if last and (key.endswith(last) or last.endswith(key)):
                return chunk
        return None

    def _replacement(self, meta: DocumentMeta) -> DocumentMeta | None:
        seen = {meta.id}
        current = meta
        while current.superseded_by and current.superseded_by not in seen:
            nxt = self.metas.get(current.superseded_by)
            if nxt is None:
                return None
            seen.add(nxt.id)
            current = nxt
        return current if current is not meta else None

    def _passage_answer(
        self, query: QueryRep, hits: list[PassageHit], confidence: float, related: list[str]
    ) -> Answer:
        top = hits[0]
        meta = top.meta
        if meta.disclosure == Disclosure.ON_REQUEST:
            doc_no = f"（{meta.doc_no}）" if meta.doc_no else ""
            text = f"《{meta.title}》{doc_no}属于依申请公开的政府信息，未在网上主动公开。{apply_note(meta)}"
            return Answer(
                _new_id(),
                AnswerType.PASSAGE,
                text,
                confidence,
                sources=[cite(meta, None)],
                related=related,
            )
        chosen: list[tuple[DocumentMeta, Chunk]] = []
        note = ""
        if not meta.is_current:
            replacement = self._replacement(meta)
            note = validity_note(meta, replacement)
            newer = self.passages.best_in_document(query, replacement.id) if replacement else None
            if replacement is not None and newer is not None:
                chosen.append((replacement, newer))
        chosen.append((meta, top.chunk))
        self._add_companions(query, meta, chosen)
        for hit in hits[1:]:
            if len(chosen) >= self.tuning.sources:
                break
            if hit.meta.disclosure == Disclosure.PUBLIC and not self._same_place(hit, chosen):
                chosen.append((hit.meta, hit.chunk))
        sources = [cite(m, c) for m, c in chosen[: self.tuning.sources]]
        lead = sources[0]
        section = f"{lead.section}" if lead.section and lead.section != "正文" else ""
        text = f"{note}根据《{lead.title}》{section}：{lead.excerpt}"
        text += annex_notes(sources, self.index.documents)
        return Answer(
            _new_id(),
            AnswerType.PASSAGE,
            text,
            confidence,
            sources=sources,
            related=related,
        )

    def _add_companions(
        self, query: QueryRep, meta: DocumentMeta, chosen: list[tuple[DocumentMeta, Chunk]]
    ) -> None:
        """A policy is cited with its interpretation draft, and a draft with its policy."""
        partners = list(self.interpretations.get(meta.id, []))
        if meta.kind == Kind.INTERPRETATION and meta.interprets:
            partners.append(meta.interprets)
        for doc_id in partners:
            partner = self.metas.get(doc_id)
            if partner is None or partner.disclosure != Disclosure.PUBLIC:
                continue
            chunk = self.passages.best_in_document(query, doc_id)
            if chunk is not None:
                chosen.append((partner, chunk))
                break

    @staticmethod
    def _same_place(hit: PassageHit, chosen: list[tuple[DocumentMeta, Chunk]]) -> bool:
        return any(m.id == hit.meta.id and c.section == hit.chunk.section for m, c in chosen)
