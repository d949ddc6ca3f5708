"""queue listing: themes and words by index, keyset orders for stories and posts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

- `submission_themes(submission_id, slug)`: each story's theme slugs as rows, indexed both ways,
  so the story list filters a theme by index instead of reading JSON row by row;
- `submission_search`: the words of a story's text, public text and recording transcripts. On
  SQLite an FTS5 table (rowid = the story's id; unicode61 tokens, lower-cased, accents kept);
  on PostgreSQL a table of `tsvector`s in the `simple` configuration (no stemming: Indonesian
  and Kupang Malay words stay as they are) under a GIN index;
- both are written by triggers on `submissions` (and on `media` for transcripts), so every
  writer (pipeline, moderators' edits, erasure, bulk loads) keeps them right without knowing;
- indexes in the keyset orders of the story list, (submitted_at, id) for every state, one
  state, and the stories waiting for review (a partial index), and of the calendar of posts,
  (scheduled_at, id) for every post, one state, one campaign.

Existing rows are filled in (a million stories take a few minutes).

SQLite drops a table's triggers when a batch migration rebuilds it: a later migration that
rebuilds `submissions` or `media` must create this one's triggers again (`_create_triggers`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVIEW_QUEUE = "state IN ('pending_review', 'needs_info', 'quarantined')"

# --------------------------------------------------------------------------------- SQLite

SQLITE_THEMES = """
INSERT OR IGNORE INTO submission_themes (submission_id, slug)
SELECT NEW.id, json_extract(theme.value, '$.slug') FROM json_each(NEW.themes) AS theme
WHERE theme.type = 'object' AND json_extract(theme.value, '$.slug') IS NOT NULL;
"""
# The document of one story (`{id}` is NEW.id or OLD.submission_id): its words in one column.
SQLITE_DOCUMENT = """
DELETE FROM submission_search WHERE rowid = {id};
INSERT INTO submission_search (rowid, body)
SELECT s.id, coalesce(s.text, '') || ' ' || coalesce(s.public_text, '') || ' ' || coalesce(
    (SELECT group_concat(m.transcript, ' ') FROM media AS m
     WHERE m.submission_id = s.id AND m.transcript IS NOT NULL), '')
FROM submissions AS s WHERE s.id = {id};
"""
SQLITE_TRIGGERS = {
    "submissions_themes_insert": f"AFTER INSERT ON submissions BEGIN {SQLITE_THEMES} END",
    "submissions_themes_update": (
        "AFTER UPDATE OF themes ON submissions BEGIN "
        f"DELETE FROM submission_themes WHERE submission_id = NEW.id; {SQLITE_THEMES} END"
    ),
    "submissions_search_insert": (
        f"AFTER INSERT ON submissions BEGIN {SQLITE_DOCUMENT.format(id='NEW.id')} END"
    ),
    "submissions_search_update": (
        "AFTER UPDATE OF text, public_text ON submissions "
        f"BEGIN {SQLITE_DOCUMENT.format(id='NEW.id')} END"
    ),
    "submissions_search_delete": (
        "AFTER DELETE ON submissions BEGIN "
        "DELETE FROM submission_search WHERE rowid = OLD.id; END"
    ),
    "media_search_insert": (
        "AFTER INSERT ON media WHEN NEW.transcript IS NOT NULL "
        f"BEGIN {SQLITE_DOCUMENT.format(id='NEW.submission_id')} END"
    ),
    "media_search_update": (
        "AFTER UPDATE OF transcript ON media "
        f"BEGIN {SQLITE_DOCUMENT.format(id='NEW.submission_id')} END"
    ),
    "media_search_delete": (
        "AFTER DELETE ON media WHEN OLD.transcript IS NOT NULL "
        f"BEGIN {SQLITE_DOCUMENT.format(id='OLD.submission_id')} END"
    ),
}

# ----------------------------------------------------------------------------- PostgreSQL

POSTGRES_FUNCTIONS = """
CREATE FUNCTION submission_document(story integer) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT to_tsvector('simple', coalesce(s.text, '') || ' ' || coalesce(s.public_text, '')
        || ' ' || coalesce((SELECT string_agg(m.transcript, ' ') FROM media AS m
                            WHERE m.submission_id = s.id AND m.transcript IS NOT NULL), ''))
    FROM submissions AS s WHERE s.id = story
$$;

CREATE FUNCTION submission_search_refresh(story integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO submission_search (submission_id, document)
    SELECT story, submission_document(story) WHERE EXISTS (SELECT 1 FROM submissions WHERE id = story)
    ON CONFLICT (submission_id) DO UPDATE SET document = EXCLUDED.document
$$;

CREATE FUNCTION submissions_indexed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.themes::text IS DISTINCT FROM OLD.themes::text THEN
        DELETE FROM submission_themes WHERE submission_id = NEW.id;
        INSERT INTO submission_themes (submission_id, slug)
        SELECT DISTINCT NEW.id, theme ->> 'slug'
        FROM json_array_elements(
            CASE WHEN json_typeof(NEW.themes) = 'array' THEN NEW.themes ELSE '[]'::json END
        ) AS theme
        WHERE json_typeof(theme) = 'object' AND theme ->> 'slug' IS NOT NULL;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.text IS DISTINCT FROM OLD.text
            OR NEW.public_text IS DISTINCT FROM OLD.public_text THEN
        PERFORM submission_search_refresh(NEW.id);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION media_indexed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM submission_search_refresh(OLD.submission_id);
    ELSIF TG_OP = 'INSERT' OR NEW.transcript IS DISTINCT FROM OLD.transcript THEN
        PERFORM submission_search_refresh(NEW.submission_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER submissions_indexed AFTER INSERT OR UPDATE OF themes, text, public_text
    ON submissions FOR EACH ROW EXECUTE FUNCTION submissions_indexed();
CREATE TRIGGER media_indexed_insert AFTER INSERT ON media
    FOR EACH ROW WHEN (NEW.transcript IS NOT NULL) EXECUTE FUNCTION media_indexed();
CREATE TRIGGER media_indexed_update AFTER UPDATE OF transcript ON media
    FOR EACH ROW EXECUTE FUNCTION media_indexed();
CREATE TRIGGER media_indexed_delete AFTER DELETE ON media
    FOR EACH ROW WHEN (OLD.transcript IS NOT NULL) EXECUTE FUNCTION media_indexed();
"""
POSTGRES_DROP = """
DROP TRIGGER media_indexed_delete ON media;
DROP TRIGGER media_indexed_update ON media;
DROP TRIGGER media_indexed_insert ON media;
DROP TRIGGER submissions_indexed ON submissions;
DROP FUNCTION media_indexed();
DROP FUNCTION submissions_indexed();
DROP FUNCTION submission_search_refresh(integer);
DROP FUNCTION submission_document(integer);
"""


def _create_search_table(dialect: str) -> None:
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE submission_search USING fts5("
            "body, tokenize = 'unicode61 remove_diacritics 0')"
        )
        return
    op.create_table(
        "submission_search",
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey("submissions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("document", sa.dialects.postgresql.TSVECTOR(), nullable=False),
    )


def _create_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(POSTGRES_FUNCTIONS)


def _backfill(dialect: str) -> None:
    # Set-based: one statement per table, far quicker than the triggers row by row.
    if dialect == "sqlite":
        op.execute(
            "INSERT OR IGNORE INTO submission_themes (submission_id, slug) "
            "SELECT s.id, json_extract(theme.value, '$.slug') "
            "FROM submissions AS s, json_each(s.themes) AS theme "
            "WHERE theme.type = 'object' AND json_extract(theme.value, '$.slug') IS NOT NULL"
        )
        op.execute(
            "INSERT INTO submission_search (rowid, body) "
            "SELECT s.id, coalesce(s.text, '') || ' ' || coalesce(s.public_text, '') || ' ' "
            "|| coalesce(t.words, '') FROM submissions AS s LEFT JOIN ("
            "  SELECT submission_id, group_concat(transcript, ' ') AS words FROM media"
            "  WHERE transcript IS NOT NULL GROUP BY submission_id"
            ") AS t ON t.submission_id = s.id"
        )
        # One segment instead of the many a big insert leaves: each lookup reads one b-tree.
        op.execute("INSERT INTO submission_search (submission_search) VALUES ('optimize')")
        return
    op.execute(
        "INSERT INTO submission_themes (submission_id, slug) "
        "SELECT DISTINCT s.id, theme ->> 'slug' FROM submissions AS s, "
        "json_array_elements(CASE WHEN json_typeof(s.themes) = 'array' THEN s.themes "
        "ELSE '[]'::json END) AS theme "
        "WHERE json_typeof(theme) = 'object' AND theme ->> 'slug' IS NOT NULL"
    )
    op.execute(
        "INSERT INTO submission_search (submission_id, document) "
        "SELECT s.id, to_tsvector('simple', coalesce(s.text, '') || ' ' "
        "|| coalesce(s.public_text, '') || ' ' || coalesce(t.words, '')) "
        "FROM submissions AS s LEFT JOIN ("
        "  SELECT submission_id, string_agg(transcript, ' ') AS words FROM media"
        "  WHERE transcript IS NOT NULL GROUP BY submission_id"
        ") AS t ON t.submission_id = s.id"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "submission_themes",
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey("submissions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", "slug"),
    )
    _create_search_table(dialect)
    _backfill(dialect)
    op.create_index("ix_submission_themes_slug", "submission_themes", ["slug", "submission_id"])
    if dialect == "postgresql":
        op.create_index(
            "ix_submission_search_document",
            "submission_search",
            ["document"],
            postgresql_using="gin",
        )
    _create_triggers(dialect)

    op.drop_index("ix_submissions_submitted_at", table_name="submissions")
    op.create_index("ix_submissions_submitted", "submissions", ["submitted_at", "id"])
    op.create_index(
        "ix_submissions_state_submitted", "submissions", ["state", "submitted_at", "id"]
    )
    op.create_index(
        "ix_submissions_review",
        "submissions",
        ["submitted_at", "id"],
        sqlite_where=sa.text(REVIEW_QUEUE),
        postgresql_where=sa.text(REVIEW_QUEUE),
    )
    op.drop_index("ix_deliveries_scheduled_at", table_name="deliveries")
    op.create_index("ix_deliveries_scheduled", "deliveries", ["scheduled_at", "id"])
    op.create_index(
        "ix_deliveries_state_scheduled", "deliveries", ["state", "scheduled_at", "id"]
    )
    op.create_index(
        "ix_deliveries_campaign_scheduled", "deliveries", ["campaign_id", "scheduled_at", "id"]
    )
    op.execute("ANALYZE")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_deliveries_campaign_scheduled", table_name="deliveries")
    op.drop_index("ix_deliveries_state_scheduled", table_name="deliveries")
    op.drop_index("ix_deliveries_scheduled", table_name="deliveries")
    op.create_index("ix_deliveries_scheduled_at", "deliveries", ["scheduled_at"])
    op.drop_index("ix_submissions_review", table_name="submissions")
    op.drop_index("ix_submissions_state_submitted", table_name="submissions")
    op.drop_index("ix_submissions_submitted", table_name="submissions")
    op.create_index("ix_submissions_submitted_at", "submissions", ["submitted_at"])
    if dialect == "sqlite":
        for name in reversed(SQLITE_TRIGGERS):
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute(POSTGRES_DROP)
    op.drop_table("submission_search")
    op.drop_index("ix_submission_themes_slug", table_name="submission_themes")
    op.drop_table("submission_themes")
