"""Measures two levers of FAQ matching (service/faq_match.py) on faq-bq-dev and oos-lcqmc-dev:
a linear map of the query space learned from the FAQ's variants, and keyword-side synonyms mined
from the variants.

    .venv/bin/python bench/bench_faq_levers.py [--index-dir DIR] [--eval-dir DIR] [--json]

Both levers are fitted on the loaded knowledge's own FAQ only (each entry's standard question and
variants); the dev queries' labels choose nothing, except through k-fold cross-validation
(``--folds``) of the one knob of each lever, reported as such.

1. **Query map** (``map a=…``): ridge regression ``W`` (512×512, closed form) taking each variant's
   vector to its entry's standard question's vector (``--target question``) or the entry's centroid
   (``centroid``); the query vector the FAQ matcher sees is ``normalize(q + a·(qW − q))``. The
   ridge penalty is chosen on the FAQ alone (``--l2`` grid): each variant, its own row left out of
   the index, mapped and ranked against the entries by the matcher's dense score (best row and
   centroid); the penalty with the best R@1 of the variants over 5 folds of the entries.
2. **Mined synonyms** (``synonyms n≥…``): jieba words (``indexer.tokenize.tokenize``) that replace
   one another one for one between an entry's standard question and one of its variants (difflib
   alignment of the word sequences; ``--pairs all`` also between two variants of one entry), kept
   when seen in at least n entries; a question using one of the words gets the other's character
   n-grams added on the FAQ keyword side, as ``service.query.expand`` adds the documents' wording.

Every configuration asks all questions through the real answering path
(``policyqa.evaluation.run.run_traced`` on one ``service.answering.Answerer``, its FAQ matcher
swapped; question vectors are encoded once and re-used) and prints R@1 and MRR@10 of the FAQ
questions and the citizen rates (``policyqa.evaluation.metrics.citizen_rates``). The index is only
read.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import REPO, code_version, folds_of, log

from indexer.encoders import make_encoder, spec_of
from indexer.models import FaqEntry
from indexer.store import LoadedIndex, load_index
from indexer.tokenize import tokenize
from policyqa.evaluation.dataset import load_datasets
from policyqa.evaluation.metrics import Outcome, citizen_rates, mrr, rate
from policyqa.evaluation.run import run_traced
from service.answering import Answerer
from service.faq_match import FaqMatcher, FaqResult
from service.query import QueryRep
from service.tuning import Tuning, tuning_for

FAQ_SET = "faq-bq-dev"
OOS_SET = "oos-lcqmc-dev"
ALPHAS = (0.25, 0.5, 0.75, 1.0)
L2S = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
MIN_ENTRIES = (1, 2, 3)
SEED = 12

# ---- lever 1: a linear map of the query space ---------------------------------------------------


def unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def map_pairs(matcher: FaqMatcher, target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(variant rows, their vectors, their targets): the standard question's vector or the
    entry's centroid."""
    vectors = matcher.vectors.vectors
    standard = np.zeros(len(vectors), dtype=bool)
    standard[matcher.row_starts] = True
    rows = np.flatnonzero(~standard)
    entry = matcher.row_entry[rows]
    y = vectors[matcher.row_starts[entry]] if target == "question" else matcher.centroids[entry]
    return rows, vectors[rows], y


def ridge(x: np.ndarray, y: np.ndarray, l2: float, prior: str) -> np.ndarray:
    """W minimising |xW − y|² + l2·|W − P|² (closed form), P = 0 or the identity (``prior``:
    with few pairs the map then stays near leaving the question as it is)."""
    eye = np.eye(x.shape[1])
    gram = x.T.astype(np.float64) @ x + l2 * eye
    right = x.T.astype(np.float64) @ y + (l2 * eye if prior == "identity" else 0)
    return np.linalg.solve(gram, right).astype(np.float32)


def mapped(q: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    return unit(q + alpha * (q @ w - q)).astype(np.float32)


def choose_l2(matcher: FaqMatcher, target: str, prior: str, folds: int = 5) -> dict[str, Any]:
    """The ridge penalty by cross-validation on the FAQ alone: each held-out variant (entries in
    folds) is mapped with the W fitted on the other folds' variants and ranked against every
    entry by the matcher's dense score, its own row left out of the index (best row and
    centroid)."""
    rows, x, y = map_pairs(matcher, target)
    vectors = matcher.vectors.vectors
    entry_of = matcher.row_entry
    fold_of_entry = np.array(folds_of(len(matcher.entries), folds, SEED))
    fold = fold_of_entry[entry_of[rows]]
    sums = np.zeros((len(matcher.entries), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, entry_of, vectors)

    def r_at_1(queries: np.ndarray, held: np.ndarray) -> float:
        own_rows = rows[held]
        own = entry_of[own_rows]
        cos = vectors @ queries.T  # questions × held-out variants
        cos[own_rows, np.arange(len(held))] = -np.inf  # the variant itself is not in the index
        best_row = np.maximum.reduceat(cos, matcher.row_starts, axis=0)
        centroid = unit(sums).astype(np.float32) @ queries.T
        # The own entry's centroid without the variant.
        own_centroid = unit(sums[own] - vectors[own_rows])
        centroid[own, np.arange(len(held))] = np.sum(own_centroid * queries, axis=1)
        return float(np.mean(np.argmax(best_row + centroid, axis=0) == own))

    # Every penalty and blend on the same held-out variants: R@1 of the variants (a = 0: unmapped).
    scores: dict[str, dict[str, float]] = {}
    held_all = []
    for k in range(folds):
        held_all.append(np.flatnonzero(fold == k))
    base = sum(r_at_1(x[h], h) * len(h) for h in held_all) / len(rows)
    for l2 in L2S:
        scores[str(l2)] = {}
        for alpha in ALPHAS:
            total = 0.0
            for k, held in enumerate(held_all):
                w = ridge(x[fold != k], y[fold != k], l2, prior)
                total += r_at_1(mapped(x[held], w, alpha), held) * len(held)
            scores[str(l2)][str(alpha)] = round(total / len(rows), 4)
    best = max(L2S, key=lambda l2: max(scores[str(l2)].values()))
    return {
        "variants": len(rows),
        "unmapped_r@1": round(base, 4),
        "r@1_by_l2_and_a": scores,
        "chosen_l2": best,
    }


# ---- lever 2: synonyms mined from the variants --------------------------------------------------


def substitutions(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, str]]:
    """Words of ``a`` replaced one for one by a word of ``b`` (difflib alignment)."""
    out = []
    matcher = difflib.SequenceMatcher(a=list(a), b=list(b), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
            out.append((a[i1], b[j1]))
    return out


def mine_synonyms(
    entries: Sequence[FaqEntry], *, min_entries: int, pairs: str, shared_char: bool
) -> dict[str, tuple[str, ...]]:
    """Word → the words that stand for it in at least ``min_entries`` entries (both ways);
    ``shared_char``: only pairs with a character in common (优惠券/优惠卷, 更改/更换)."""
    seen: dict[tuple[str, str], set[str]] = {}
    for e in entries:
        cut = [tokenize(q) for q in e.questions]
        compared = (
            [(0, j) for j in range(1, len(cut))]
            if pairs == "standard"
            else [(i, j) for i in range(len(cut)) for j in range(i + 1, len(cut))]
        )
        for i, j in compared:
            for a, b in substitutions(cut[i], cut[j]):
                if a in b or b in a or (shared_char and not set(a) & set(b)):
                    continue
                seen.setdefault((a, b), set()).add(e.id)
                seen.setdefault((b, a), set()).add(e.id)
    table: dict[str, list[str]] = {}
    for (a, b), where in sorted(seen.items()):
        if len(where) >= min_entries:
            table.setdefault(a, []).append(b)
    return {a: tuple(bs) for a, bs in table.items()}


def with_synonyms(query: QueryRep, table: dict[str, tuple[str, ...]]) -> QueryRep:
    extra = [s for w in dict.fromkeys(tokenize(query.text)) for s in table.get(w, ())]
    extra = [s for s in dict.fromkeys(extra) if s not in query.expanded]
    if not extra:
        return query
    return dataclasses.replace(query, expanded=query.expanded + " " + " ".join(extra))


# ---- the matcher with the levers ------------------------------------------------------------------


class LeverMatcher(FaqMatcher):
    """The shipped matcher, fed a query with the levers applied (the FAQ side only: passages
    and the scope step see the question as before)."""

    def __init__(
        self,
        index: LoadedIndex,
        tuning: Tuning,
        *,
        w: np.ndarray | None = None,
        alpha: float = 0.0,
        synonyms: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(index, tuning)
        self.w, self.alpha, self.synonyms = w, alpha, synonyms

    def match(self, query: QueryRep, *, limit: int = 10) -> FaqResult:
        if self.w is not None and self.alpha:
            query = dataclasses.replace(query, vector=mapped(query.vector, self.w, self.alpha))
        if self.synonyms:
            query = with_synonyms(query, self.synonyms)
        return super().match(query, limit=limit)


# ---- measuring ------------------------------------------------------------------------------------


def figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    faq = [o for o in outcomes if o.kind == "faq"]
    return {
        "R@1": rate([o.rank == 1 for o in faq]),
        "MRR@10": mrr([o.rank for o in faq]),
        **citizen_rates(outcomes),
    }


def top1_changes(base: Sequence[Outcome], other: Sequence[Outcome]) -> dict[str, int]:
    """FAQ questions whose right entry the configuration ranks first and the baseline does not
    (gained), and the other way round (lost): how much of a difference is a few questions."""
    pairs = [
        (b.rank == 1, o.rank == 1) for b, o in zip(base, other, strict=True) if b.kind == "faq"
    ]
    return {
        "gained": sum(1 for b, o in pairs if o and not b),
        "lost": sum(1 for b, o in pairs if b and not o),
    }


def cross_validate(
    runs: dict[str, list[Outcome]], names: Sequence[str], folds: int
) -> dict[str, Any]:
    """Out-of-fold figures of choosing among ``names`` (by R@1 + MRR@10 of the FAQ questions of
    k−1 folds; ties to the earlier name), every question judged with its held-out fold's choice."""
    count = len(runs[names[0]])
    fold_of = folds_of(count, folds, SEED)
    held: list[Outcome | None] = [None] * count
    chosen = []
    for k in range(folds):
        train = [i for i in range(count) if fold_of[i] != k]

        def score(name: str, train: list[int] = train) -> float:
            f = figures([runs[name][i] for i in train])
            return float(f["R@1"] or 0) + float(f["MRR@10"] or 0)

        best = max(names, key=lambda n: (score(n), -names.index(n)))
        chosen.append(best)
        for i in range(count):
            if fold_of[i] == k:
                held[i] = runs[best][i]
    return {"fold_choices": chosen, **figures([o for o in held if o is not None])}


def row(name: str, f: dict[str, Any]) -> str:
    ins, oos = f["in_scope"], f["out_of_scope"]
    cells = [
        f["R@1"],
        f["MRR@10"],
        ins["answered_right"],
        ins["answered_wrong"],
        ins["clarified_right"],
        ins["clarified_wrong"],
        ins["declined"],
        oos["declined"],
    ]
    change = f.get("top1_vs_baseline")
    moved = f"+{change['gained']}/−{change['lost']}" if change else ""
    return f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {moved} |"


def table(results: dict[str, dict[str, Any]]) -> str:
    head = (
        "| configuration | R@1 | MRR@10 | answered right | answered wrong | clarified right "
        "| clarified wrong | declined | OOS declined | top-1 gained/lost |\n|---" + "|---" * 9 + "|"
    )
    return "\n".join([head, *(row(n, f) for n, f in results.items())])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--index-dir",
        type=Path,
        default=Path("/work/cache/scope") / FAQ_SET,
        help="an index of faq-bq-dev's knowledge (read only)",
    )
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--target", choices=("question", "centroid"), default="question")
    parser.add_argument("--prior", choices=("identity", "zero"), default="identity")
    parser.add_argument("--pairs", choices=("standard", "all"), default="standard")
    parser.add_argument(
        "--shared-char", action="store_true", help="mine only word pairs sharing a character"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="JSON instead of a markdown table")
    args = parser.parse_args(argv)

    index = load_index(args.index_dir)
    ds = load_datasets([args.eval_dir / FAQ_SET, args.eval_dir / OOS_SET])
    encoder = make_encoder(spec_of(index.encoder_identity, None), threads=os.cpu_count())
    tuning = tuning_for(encoder.identity)
    answerer = Answerer(index, encoder, tuning=tuning)
    # Every question's vector stays in the encoder's cache across the configurations.
    answerer.encode.max_bytes = 256 * 2**20
    answerer.ask("预热")
    entries = list(index.faqs.values())

    log("lever 1: choosing the ridge penalty on the FAQ's own variants")
    base_matcher = FaqMatcher(index, tuning)
    l2_choice = choose_l2(base_matcher, args.target, args.prior)
    _, x, y = map_pairs(base_matcher, args.target)
    w = ridge(x, y, l2_choice["chosen_l2"], args.prior)
    tables = {
        n: mine_synonyms(entries, min_entries=n, pairs=args.pairs, shared_char=args.shared_char)
        for n in MIN_ENTRIES
    }

    # name → the levers (LeverMatcher's keywords); none: the shipped matcher.
    configs: dict[str, dict[str, Any]] = {"baseline": {}}
    for a in ALPHAS:
        configs[f"map a={a}"] = {"w": w, "alpha": a}
    for n in MIN_ENTRIES:
        configs[f"synonyms n≥{n}"] = {"synonyms": tables[n]}
    for a in ALPHAS:
        configs[f"map a={a} + synonyms n≥1"] = {"w": w, "alpha": a, "synonyms": tables[1]}
    runs: dict[str, list[Outcome]] = {}
    for name, levers in configs.items():
        log(f"asking {len(ds.queries)} questions: {name}")
        answerer.faqs = (
            LeverMatcher(index, tuning, **levers) if levers else FaqMatcher(index, tuning)
        )
        runs[name] = [o for o, _ in run_traced(answerer, ds)]
    results = {name: figures(outcomes) for name, outcomes in runs.items()}
    for name, outcomes in runs.items():
        results[name]["top1_vs_baseline"] = top1_changes(runs["baseline"], outcomes)
    maps = ["baseline", *(f"map a={a}" for a in ALPHAS)]
    syns = ["baseline", *(f"synonyms n≥{n}" for n in MIN_ENTRIES)]
    cv = {
        "map a (cross-validated)": cross_validate(runs, maps, args.folds),
        "synonyms n (cross-validated)": cross_validate(runs, syns, args.folds),
    }
    report = {
        "code": code_version(),
        "index": str(args.index_dir),
        "target": args.target,
        "prior": args.prior,
        "pairs": args.pairs,
        "shared_char": args.shared_char,
        "ridge": l2_choice,
        "synonym_words": {str(n): len(t) for n, t in tables.items()},
        "synonym_sample": {a: list(b) for a, b in list(tables[2].items())[:40]},
        "results": results,
        "cross_validated": cv,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(
            json.dumps(
                {k: v for k, v in report.items() if k not in ("results", "cross_validated")},
                ensure_ascii=False,
                indent=1,
            )
        )
        print()
        shown = dict(results)
        shown.update(
            {n: {k: v for k, v in f.items() if k != "fold_choices"} for n, f in cv.items()}
        )
        print(table(shown))
        for name, f in cv.items():
            print(f"\n{name}: fold choices {f['fold_choices']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
