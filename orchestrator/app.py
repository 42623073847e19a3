"""The application context: settings, database, blob store and review policy, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import yaml

from gate import DEFAULT_POLICY, InvalidPolicy, Policy
from gate.aids import DEFAULT_SENSITIVE_WORDS
from orchestrator.blobs import BlobStore
from orchestrator.db import Database
from orchestrator.errors import InvalidInput
from orchestrator.redis_embedded import url_for
from orchestrator.settings import Settings
from orchestrator.wakeup import Waker


@dataclass
class App:
    settings: Settings
    # wakes the scheduler after commits that make rows due (installed with the database)
    waker: Waker | None = field(default=None, init=False, repr=False)

    @cached_property
    def db(self) -> Database:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(self.settings.sqlalchemy_url)
        self.waker = Waker(self.settings.redis_url or url_for(self.settings.data_dir)).install(db)
        return db

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blob_dir)

    @cached_property
    def policy(self) -> Policy:
        path = self.settings.policy_file
        if path is None:
            return DEFAULT_POLICY
        try:
            return Policy.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, InvalidPolicy) as exc:
            raise InvalidInput(f"审核策略文件 {path} 无法使用：{exc}", code="bad_policy") from None

    @cached_property
    def sensitive_words(self) -> tuple[str, ...]:
        extra: tuple[str, ...] = ()
        path = self.settings.sensitive_words_file
        if path is not None:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InvalidInput(
                    f"敏感词表 {path} 无法读取：{exc}", code="bad_word_list"
                ) from None
            extra = tuple(w.strip() for w in lines if w.strip() and not w.startswith("#"))
        return tuple(DEFAULT_SENSITIVE_WORDS) + extra
