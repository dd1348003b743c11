-- Catalog sync (issue 6): programme rooms and their schedule.
--
-- PROGRAMME rooms open at `open_time` (SCHEDULED until then) and are
-- archived at `archive_time`; the sweeper moves them with state-conditional
-- updates, so each transition happens once across replicas. `channel_id` is
-- the provider channel a programme room's programme airs on (its media is
-- the programme id), and `programme_start` / `programme_end` the airing, so
-- that guide changes and channel removals find a channel's programme rooms
-- without asking the catalog.

ALTER TABLE rooms
    ADD COLUMN open_time       timestamptz,
    ADD COLUMN archive_time    timestamptz,
    ADD COLUMN channel_id      text,
    ADD COLUMN programme_start timestamptz,
    ADD COLUMN programme_end   timestamptz;

-- One programme room per guide programme (as rooms_one_per_channel).
CREATE UNIQUE INDEX rooms_one_per_programme ON rooms (media_id) WHERE kind = 'programme';
-- A channel's programme rooms, by airing.
CREATE INDEX rooms_programmes_by_channel ON rooms (channel_id, programme_start) WHERE kind = 'programme';
-- What the sweeper opens and archives.
CREATE INDEX rooms_due_open ON rooms (open_time) WHERE state = 'scheduled';
CREATE INDEX rooms_due_archive ON rooms (archive_time) WHERE state <> 'archived' AND archive_time IS NOT NULL;
