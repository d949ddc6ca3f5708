"""The pipeline's work in its own low-priority process, beside the bot."""

from __future__ import annotations

import os

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.config import Settings
from core.models import Submission
from pipeline.runner import NICENESS, PipelineRunner
from tests.moderation.conftest import add_story


async def test_a_story_is_ingested_in_a_separate_process_at_lower_priority(
    engine: Engine, settings: Settings
) -> None:
    story_id = add_story(engine, ref="SP-PR0C", state="received", media=0)  # type: ignore[arg-type]
    runner = PipelineRunner(engine, settings.model_copy(update={"pipeline_processes": 1}))
    try:
        assert await runner.ingest(story_id) == "pending_review"
        pool = runner._pool  # the one place a test looks inside: the workers' priority
        assert pool is not None
        worker = pool.submit(os.getpid).result()
        assert worker != os.getpid()
        assert (
            os.getpriority(os.PRIO_PROCESS, worker) >= os.getpriority(os.PRIO_PROCESS, 0) + NICENESS
        )
    finally:
        runner.shutdown()
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None and story.state == "pending_review" and story.processed_at
