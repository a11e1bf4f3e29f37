"""Loads an index with the encoder that built it and makes it ready to answer."""

from __future__ import annotations

from pathlib import Path

from indexer.encoders import Encoder, EncoderError, check_same, make_encoder, spec_of
from indexer.store import load_index
from service.answering import Answerer
from service.sessions import SessionStore
from service.tuning import Tuning, tuning_for


def load_answerer(
    index_dir: Path,
    *,
    encoder_model_dir: str | None = None,
    tuning: Tuning | None = None,
    sessions: SessionStore | None = None,
    encode_slots: int = 1,
    encoder_threads: int | None = None,
    version: str | None = None,
    encoder: Encoder | None = None,
) -> Answerer:
    """The version CURRENT names, or ``version``; ``encoder``: the one already loaded; ``tuning``:
    by default the shipped one for the index's encoder. Raises indexer.store.IndexLoadError or
    indexer.encoders.EncoderError with a Chinese message."""
    index = load_index(index_dir, version=version)
    if encoder is not None:
        # A reload re-uses the loaded model when the new version was built with the same one.
        try:
            check_same(index.encoder_identity, encoder)
        except EncoderError:
            encoder = None
    if encoder is None:
        encoder = make_encoder(
            spec_of(index.encoder_identity, encoder_model_dir), threads=encoder_threads
        )
    check_same(index.encoder_identity, encoder)
    answerer = Answerer(
        index,
        encoder,
        tuning=tuning or tuning_for(index.encoder_identity),
        sessions=sessions,
        encode_slots=encode_slots,
    )
    # Load the model and the dictionary before the first citizen (no session: nothing remembered).
    answerer.ask("政府采购质疑")
    return answerer
