"""Spoken filler is taken out of a question before matching (service/colloquial.py), and only
filler: words that carry the question's meaning stay."""

from __future__ import annotations

import pytest

from indexer.textnorm import normalize
from service.colloquial import plain


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("我想咨询一下，就是那个新能源汽车到底交不交车船税", "新能源汽车交不交车船税"),
        ("麻烦问下，个税起征点是多少", "个税起征点是多少"),
        ("我要问一下关于那个政府采购的事情就是没中标怎么办", "政府采购没中标怎么办"),
        ("我问一下，退休以后然后怎么领养老金", "退休以后怎么领养老金"),
    ],
)
def test_filler_is_removed(question: str, expected: str) -> None:
    assert plain(normalize(question)) == expected


@pytest.mark.parametrize(
    "question",
    [
        "酷狗和天天动听那个好",  # spoken 那个 = 哪个
        "也就是说提前还清就不用付利息",  # 也就是说 is not an opener
        "这就是我的问题",  # the copula
        "问题是发票丢了怎么办",  # 问题, not 问
        "问道赚钱最快的方法",
        "了解一下",  # nothing but filler: kept
        "嗯",
    ],
)
def test_meaning_is_kept(question: str) -> None:
    text = normalize(question)
    assert plain(text) == text
