//! Named queries, one `.sql` file each under `sql/queries`. A test prepares every one of them against a
//! freshly migrated database, so a broken query fails CI rather than a user.

macro_rules! queries {
    ($($name:ident = $path:literal;)+) => {
        $(pub(crate) const $name: &str = include_str!(concat!("../../../sql/queries/", $path));)+
        /// Every named query: (file, SQL).
        pub static ALL: &[(&str, &str)] = &[$(($path, $name)),+];
    };
}

queries! {
    FIND_COMMITTED_BATCH = "batches/find_committed.sql";
    FIND_BATCH_BY_FILE_HASH = "batches/find_by_file_hash.sql";
    COMMITTED_BATCH_WITH_SIZE = "batches/committed_with_size.sql";
    GET_BATCH = "batches/get.sql";
    LIST_BATCHES = "batches/list.sql";
    BATCH_FILES = "batches/files.sql";
    BATCH_DETAILS = "batches/details.sql";
    INSERT_BATCH_DETAILS = "batches/insert_details.sql";
    INSERT_BATCH = "batches/insert.sql";
    INSERT_BATCH_FILE = "batches/insert_file.sql";
    NEXT_BATCH_ID = "batches/next_id.sql";
    SUPERSEDE_BATCH = "batches/supersede.sql";
    LIST_REJECTS = "rejects/list.sql";
    TOP_REJECT_REASONS = "rejects/top_reasons.sql";
    GET_JURISDICTION = "jurisdictions/get.sql";
    LIST_JURISDICTIONS = "jurisdictions/list.sql";
    INSERT_JURISDICTION_IF_ABSENT = "jurisdictions/insert_if_absent.sql";
    UPDATE_JURISDICTION = "jurisdictions/update.sql";
    FILL_JURISDICTION = "jurisdictions/fill.sql";
    EXTRACT_ALLEGATIONS = "extracts/allegations.sql";
    FRAME_STOPS = "metrics/frame_stops.sql";
    FRAME_DETAINERS = "metrics/frame_detainers.sql";
    FRAME_CRIME_REPORTS = "metrics/frame_crime_reports.sql";
    FRAME_COMPLAINTS = "metrics/frame_complaints.sql";
    FRAME_ALLEGATIONS = "metrics/frame_allegations.sql";
    CUBE = "metrics/cube.sql";
    CUBE_ALL_TIME = "metrics/cube_all_time.sql";
    CUBE_MONTHLY = "metrics/cube_monthly.sql";
    DELETE_CUBE = "metrics/delete_cube.sql";
    DELETE_POINTS = "metrics/delete_points.sql";
    COMMITTED_BATCHES = "metrics/committed_batches.sql";
    BATCH_EXTENT = "metrics/batch_extent.sql";
    BATCH_ROWS = "metrics/batch_rows.sql";
    POPULATIONS_OF = "metrics/populations_of.sql";
    LAST_METRIC_RUN = "metrics/last_metric_run.sql";
    LIST_METRIC_RUNS = "metrics/list_metric_runs.sql";
    INSERT_METRIC_RUN = "metrics/insert_metric_run.sql";
    POINTS = "metrics/points.sql";
    ALL_POINTS = "metrics/all_points.sql";
    POINTS_ACROSS = "metrics/points_across.sql";
    LATEST_PERIOD = "metrics/latest_period.sql";
    GROUP_POINTS = "metrics/group_points.sql";
    QUALITY_NOTES = "metrics/quality_notes.sql";
    INSERT_QUALITY_NOTE = "metrics/insert_quality_note.sql";
    LIST_POLICY_EVENTS = "events/list.sql";
    GET_POLICY_EVENT = "events/get.sql";
    INSERT_POLICY_EVENT = "events/insert.sql";
    DELETE_POLICY_EVENT = "events/delete.sql";
    VOD_STOPS = "analysis/vod_stops.sql";
    STOPS_MEDIAN_LOCATION = "analysis/stops_median_location.sql";
    THRESHOLD_COUNTS = "analysis/threshold_counts.sql";
    INSERT_API_KEY = "api/insert_key.sql";
    LIST_API_KEYS = "api/list_keys.sql";
    API_KEY_BY_HASH = "api/key_by_hash.sql";
    REVOKE_API_KEY = "api/revoke_key.sql";
    TOUCH_API_KEY = "api/touch_key.sql";
    INSERT_AUDIT = "api/insert_audit.sql";
    LIST_AUDIT = "api/list_audit.sql";
    CUBE_SUMS = "api/cube_sums.sql";
    DATASET_IMPORTS = "api/dataset_imports.sql";
    CUBE_SPAN = "api/cube_span.sql";
    INSERT_SCHEDULE_RUN = "api/insert_schedule_run.sql";
    FINISH_SCHEDULE_RUN = "api/finish_schedule_run.sql";
    LAST_SCHEDULE_RUN = "api/last_schedule_run.sql";
}
