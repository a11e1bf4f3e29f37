"""The answering core: a citizen's question in, a cited answer, a refusal or a hand-over out.

Order: the choice of a pending clarification (its number or its text) is answered directly;
requests for a person and complaints go to a person; greetings get a short reply; then the curated
FAQ; then policy passages; when the top candidate is likely not the one meant (the clarify models
of service/tuning.py, service/clarify_model.py) and the question does not name the document and
article it is (service/references.py), ask which one is meant (``clarify``: numbered options in ``related``); below
the calibrated confidence, no guess: say so, suggest the closest FAQ questions and offer a person.
This module never imports a channel.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from indexer.encoders import Encoder
from indexer.models import Chunk, Disclosure, DocumentMeta, Kind
from indexer.store import LoadedIndex
from indexer.textnorm import normalize, strip_punctuation
from service import replies
from service.citations import Source, annex_notes, apply_note, cite, validity_note
from service.clarify_model import passage_signals
from service.colloquial import plain
from service.faq_match import FaqHit, FaqMatcher, FaqResult
from service.intents import Intent, classify, strip_greeting
from service.passages import PassageHit, PassageResult, PassageRetriever
from service.query import QueryRep, prepare
from service.query_encoder import QueryEncoder
from service.references import Reference, ReferenceFinder
from service.referrals import Referrals
from service.scope import KnowledgeScope, passage_backed
from service.sessions import MemorySessionStore, Option, SessionStore, Turn, looks_like_follow_up
from service.tuning import DEFAULT_TUNING, Tuning

ACCEPT = 0.5  # calibrated confidence at which the service answers
FOLLOW_UP_CONTEXT = 80  # characters of the previous question carried into a follow-up
OPTION_OPENING = 20  # characters of an excerpt naming a clarification's option without an article
UNBACKED = 0.49  # the highest confidence reported when the text shown would not back the question


class AnswerType(StrEnum):
    FAQ = "faq"
    PASSAGE = "passage"
    NONE = "none"
    HANDOFF = "handoff"
    SMALLTALK = "smalltalk"
    CLARIFY = "clarify"


# A reply that picks an option by number: "2", "２", "第2个", "2号", "选2".
_PICK = re.compile(r"^(?:选|选择)?第?([1-9])(?:个|条|号|项)?$")


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


@dataclass(frozen=True)
class Trace:
    """What the evaluation looks at, from ``Answerer.ask_traced`` only (never part of a response):
    the question as answered (a follow-up with its context), both rankers' full rankings and their
    signals. A hand-over or small talk ranks nothing."""

    question: str
    faq_ranking: tuple[str, ...] = ()  # FAQ entry ids, best first
    passage_ranking: tuple[tuple[str, str], ...] = ()  # (doc_id, excerpt), best first
    # raw, confidence and the clarify model's signals (service/clarify_model.py)
    faq_signals: dict[str, float] = field(default_factory=dict)
    passage_signals: dict[str, float] = field(default_factory=dict)


def _new_id() -> str:
    return uuid.uuid4().hex


class Answerer:
    def __init__(
        self,
        index: LoadedIndex,
        encoder: Encoder,
        *,
        tuning: Tuning = DEFAULT_TUNING,
        sessions: SessionStore | None = None,
        encode_slots: int = 1,
    ) -> None:
        self.index, self.encoder, self.tuning = index, encoder, tuning
        self.encode = QueryEncoder(encoder, slots=encode_slots)
        self.sessions: SessionStore = sessions if sessions is not None else MemorySessionStore()
        self.faqs = FaqMatcher(index, tuning)
        self.passages = PassageRetriever(index, tuning)
        self.scope = KnowledgeScope(index)
        self.referrals = Referrals(index)
        self.metas = {doc_id: record.meta for doc_id, record in index.documents.items()}
        self.chunk_rows = {str(c.id): row for row, c in enumerate(self.passages.chunks)}
        self.interpretations: dict[str, list[str]] = {}
        for meta in self.metas.values():
            if meta.kind == Kind.INTERPRETATION and meta.interprets:
                self.interpretations.setdefault(meta.interprets, []).append(meta.id)
        self.references = ReferenceFinder(self.metas.values())

    # ---- entry points --------------------------------------------------------------------------

    def ask(self, question: str, *, session_id: str | None = None) -> Answer:
        return self._ask(question, session_id=session_id, traced=False)[0]

    def ask_traced(self, question: str, *, session_id: str | None = None) -> tuple[Answer, Trace]:
        """The same answer as ``ask``, and what the evaluation needs to judge it: both rankers
        run whatever the FAQ's confidence, so the trace holds both full rankings."""
        return self._ask(question, session_id=session_id, traced=True)

    def _ask(self, question: str, *, session_id: str | None, traced: bool) -> tuple[Answer, Trace]:
        text = normalize(question)
        previous = self.sessions.last(session_id) if session_id else None
        if previous is not None and previous.options:
            option = _picked(text, previous.options)
            if option is not None:
                chosen = self._answer_option(option, previous)
                if chosen is not None:
                    answer, asked = chosen
                    self.sessions.remember(session_id, Turn(asked, True))
                    return answer, Trace(asked)
        intent = classify(text)
        if intent in (Intent.HUMAN, Intent.COMPLAINT):
            answer = Answer(
                _new_id(), AnswerType.HANDOFF, replies.handoff(intent), 1.0, handoff=True
            )
            return answer, Trace(text)
        if intent != Intent.QUESTION:
            answer = Answer(_new_id(), AnswerType.SMALLTALK, replies.smalltalk(intent), 1.0)
            return answer, Trace(text)
        core = strip_greeting(text) or text
        effective = plain(core)
        if previous is not None and looks_like_follow_up(core):
            effective = f"{previous.question[:FOLLOW_UP_CONTEXT]} {effective}"
        answer, trace, options = self._answer(effective, rank_both=traced)
        # A clarification's choices stay with the session (``related`` shows only their labels).
        self.sessions.remember(session_id, Turn(effective, answer.answered, options))
        return answer, trace

    def _answer_option(self, option: Option, previous: Turn) -> tuple[Answer, str] | None:
        """The answer to a clarification's option, and the question to remember for follow-ups;
        None when the option no longer exists (the index changed since it was offered)."""
        if option.kind == "faq":
            entry = self.index.faqs.get(option.key)
            if entry is None:
                return None
            # The citizen chose this entry: it is what they asked, whatever its score was.
            chosen = FaqResult([FaqHit(entry, 1.0)], 1.0, 1.0)
            return self._faq_answer(prepare(entry.question, self.encode), chosen), entry.question
        if option.kind == "chunk":
            row = self.chunk_rows.get(option.key)
            if row is None:
                return None
            chunk = self.passages.chunks[row]
            meta = self.metas[chunk.doc_id]
            result = PassageResult([PassageHit(chunk, meta, 1.0)], 1.0, 1.0)
            query = prepare(previous.question, self.encode)
            return self._passage_answer(query, result, _NO_FAQ), previous.question
        return None

    # ---- answering one (effective) question ------------------------------------------------------

    def _answer(self, text: str, *, rank_both: bool) -> tuple[Answer, Trace, tuple[Option, ...]]:
        query = prepare(text, self.encode)
        faq = self.faqs.match(query)
        passages: PassageResult | None = None
        options: tuple[Option, ...] = ()
        named = self.references.find(text)
        if faq.confidence < ACCEPT or rank_both or named is not None:
            passages = self.passages.search(query)
            passages = self._named_passage_first(passages, named)
        signals = self._passage_signals(query, passages) if passages else {}
        named_passage = passages is not None and passages.hits and self._passage_is(passages, named)
        in_scope = bool(named_passage) or self._backed(text, faq, passages, signals)
        referred = None if named_passage else self.referrals.body_for(text)
        in_scope = in_scope and referred is None
        if in_scope and faq.hits and faq.confidence >= ACCEPT:
            faq = self._named_first(faq, named)
            if self._faq_is(faq, named) or not self.tuning.faq_clarify.asks_back(faq.signals):
                answer = self._faq_answer(query, faq)
            elif passages is not None and named_passage:
                answer = self._passage_answer(query, passages, faq)
            else:
                answer, options = self._faq_clarify(faq)
        elif in_scope and passages is not None and passages.hits and passages.confidence >= ACCEPT:
            if named_passage or not self.tuning.passage_clarify.asks_back(signals):
                answer = self._passage_answer(query, passages, faq)
            else:
                answer, options = self._passage_clarify(passages)
        else:
            confidence = max(faq.confidence, passages.confidence if passages else 0.0)
            confidence = confidence if in_scope else min(confidence, UNBACKED)
            related = self._suggestions(text, faq) if referred is None else []
            answer = Answer(
                _new_id(),
                AnswerType.NONE,
                replies.referred(referred) if referred else replies.not_found(bool(related)),
                confidence,
                related=related,
                handoff=True,
            )
        if not options and answer.related:
            # Related questions and a decline's suggestions are numbered too: "1" (or the
            # question's text, which the widget's buttons send) answers that entry.
            entries = {hit.entry.question: hit.entry.id for hit in faq.hits}
            options = tuple(Option(q, "faq", entries[q]) for q in answer.related if q in entries)
        # Only the evaluation reads a full trace (every signal, some computed on first read).
        trace = _trace(text, faq, passages, signals) if rank_both else Trace(text)
        return answer, trace, options

    # A question naming a document and article ("印花税法第四条…") has said which one it means:
    # the candidate among the options that is that article is answered, without asking back.

    def _faq_is(self, faq: FaqResult, named: Reference | None) -> bool:
        return named is not None and any(
            self.references.points_at(named, ref.doc_id, ref.article)
            for ref in faq.hits[0].entry.sources
        )

    def _named_first(self, faq: FaqResult, named: Reference | None) -> FaqResult:
        if named is None:
            return faq
        for n, hit in enumerate(faq.hits[: self.tuning.clarify_options]):
            if n and self._faq_is(dataclasses.replace(faq, hits=[hit]), named):
                return dataclasses.replace(faq, hits=[hit, *faq.hits[:n], *faq.hits[n + 1 :]])
        return faq

    def _passage_is(self, result: PassageResult, named: Reference | None) -> bool:
        top = result.hits[0].chunk
        return named is not None and self.references.points_at(named, top.doc_id, top.section)

    def _named_passage_first(self, result: PassageResult, named: Reference | None) -> PassageResult:
        if named is None:
            return result
        hits = result.hits
        for n, hit in enumerate(hits[: self.tuning.clarify_options]):
            if n and self.references.points_at(named, hit.chunk.doc_id, hit.chunk.section):
                return dataclasses.replace(result, hits=[hit, *hits[:n], *hits[n + 1 :]])
        return result

    def _passage_signals(self, query: QueryRep, result: PassageResult) -> dict[str, float]:
        return passage_signals(
            result, self.passages.vectors.vectors, self.chunk_rows, query, self._partners
        )

    def _partners(self, doc_id: str) -> set[str]:
        """A policy's interpretations and an interpretation's policy (cited together)."""
        partners = set(self.interpretations.get(doc_id, []))
        meta = self.metas.get(doc_id)
        if meta is not None and meta.interprets:
            partners.add(meta.interprets)
        return partners

    def _backed(
        self,
        text: str,
        faq: FaqResult,
        passages: PassageResult | None,
        signals: dict[str, float],
    ) -> bool:
        """Whether the FAQ entry or the excerpt that would be shown shares enough of the
        question's subject (service/scope.py): a neighbouring domain's question is declined."""
        entry = faq.hits[0].entry if faq.hits and faq.confidence >= ACCEPT else None
        t = self.tuning
        if entry is not None and t.scope_faq_words <= 0:
            return True  # the FAQ gate is off: no need to cut the question for its words
        excerpt = passages.hits[0].chunk.text if passages is not None and passages.hits else None
        shown = self.scope.shown(text, entry=entry, excerpt=excerpt)
        if shown is None:
            return True
        path, backing = shown
        if path == "faq":
            return backing.enough(words=t.scope_faq_words, weight=t.scope_faq_weight)
        return passage_backed(t.passage_scope, backing, signals)

    def _faq_clarify(self, faq: FaqResult) -> tuple[Answer, tuple[Option, ...]]:
        """Which of the closest FAQ entries is meant: their standard questions, best first."""
        options: list[Option] = []
        for hit in faq.hits:
            if len(options) >= self.tuning.clarify_options:
                break
            if hit.entry.question not in {o.label for o in options}:
                options.append(Option(hit.entry.question, "faq", hit.entry.id))
        return self._clarify(options, faq.confidence, [])

    def _passage_clarify(self, result: PassageResult) -> tuple[Answer, tuple[Option, ...]]:
        """Which of the closest excerpts is meant: title + article (or the excerpt's opening when
        the document has no articles), of other documents or other articles of the same one."""
        options: list[Option] = []
        sources: list[Source] = []
        for hit in result.hits:
            if len(options) >= self.tuning.clarify_options:
                break
            public = hit.meta.disclosure == Disclosure.PUBLIC
            source = cite(hit.meta, hit.chunk if public else None)
            section = source.section if source.section and source.section != "正文" else ""
            if not section and public:
                section = "：" + source.excerpt[:OPTION_OPENING] + "…"
            label = f"《{hit.meta.title}》{section}"
            if label in {o.label for o in options}:
                continue
            options.append(Option(label, "chunk", str(hit.chunk.id)))
            sources.append(source)
        return self._clarify(options, result.confidence, sources)

    @staticmethod
    def _clarify(
        options: list[Option], confidence: float, sources: list[Source]
    ) -> tuple[Answer, tuple[Option, ...]]:
        labels = [o.label for o in options]
        answer = Answer(
            _new_id(),
            AnswerType.CLARIFY,
            replies.clarify(labels),
            confidence,
            sources=sources,
            related=labels,
        )
        return answer, tuple(options)

    def _suggestions(self, text: str, faq: FaqResult) -> list[str]:
        """The closest FAQ questions offered with a decline, only those about the question's
        subject (sharing one of its salient words): a question about the weather gets none."""
        about = [h for h in faq.hits if self.scope.about(text, h.entry)]
        return [h.entry.question for h in about][: self.tuning.related]

    def _related(self, faq: FaqResult, exclude: str | None = None) -> list[str]:
        return [h.entry.question for h in faq.hits if h.entry.id != exclude][: self.tuning.related]

    def _faq_answer(self, query: QueryRep, faq: FaqResult) -> Answer:
        entry = faq.hits[0].entry
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
            faq.confidence,
            sources=sources,
            related=self._related(faq, exclude=entry.id),
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

    def _passage_answer(self, query: QueryRep, result: PassageResult, faq: FaqResult) -> Answer:
        top = result.hits[0]
        meta = top.meta
        if meta.disclosure == Disclosure.ON_REQUEST:
            doc_no = f"（{meta.doc_no}）" if meta.doc_no else ""
            text = f"《{meta.title}》{doc_no}属于依申请公开的政府信息，未在网上主动公开。{apply_note(meta)}"
            return Answer(
                _new_id(),
                AnswerType.PASSAGE,
                text,
                result.confidence,
                sources=[cite(meta, None)],
                related=self._related(faq),
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
        for hit in result.hits[1:]:
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
            result.confidence,
            sources=sources,
            related=self._related(faq),
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


_NO_FAQ = FaqResult([], 0.0, 0.0)


def _picked(text: str, options: tuple[Option, ...]) -> Option | None:
    """The option a reply chooses: its number (1-based) or its text; None for anything else."""
    match = _PICK.match(text)
    if match:
        number = int(match.group(1))
        return options[number - 1] if number <= len(options) else None
    key = strip_punctuation(text)
    return next((o for o in options if key and strip_punctuation(o.label) == key), None)


def _trace(
    text: str, faq: FaqResult, passages: PassageResult | None, signals: dict[str, float]
) -> Trace:
    return Trace(
        question=text,
        faq_ranking=tuple(hit.entry.id for hit in faq.hits),
        passage_ranking=tuple((h.chunk.doc_id, h.chunk.text) for h in passages.hits)
        if passages is not None
        else (),
        faq_signals={"raw": faq.raw, "confidence": faq.confidence, **faq.signals},
        passage_signals={
            "raw": passages.raw,
            "confidence": passages.confidence,
            **signals,
        }
        if passages is not None
        else {},
    )
