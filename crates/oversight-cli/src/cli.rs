//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Oversight: accountability indicators from police stops, ICE detainers, crime reports and complaints.
///
/// Exit codes: 0 success; 1 internal error; 2 a file, profile or argument was refused (nothing landed);
/// 3 the database is in use by another process.
#[derive(Debug, Parser)]
#[command(name = "oversight", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The DuckDB database file (default ./oversight.duckdb, or `db` in the configuration).
    #[arg(long, global = true, env = "OVERSIGHT_DB")]
    pub(crate) db: Option<PathBuf>,

    /// Configuration file (default ./oversight.toml when present).
    #[arg(long, global = true, env = "OVERSIGHT_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// Open the database read-only: several processes (read-only servers, commands that read) may then share
    /// one file or snapshot; commands that write refuse.
    #[arg(long, global = true, env = "OVERSIGHT_READ_ONLY")]
    pub(crate) read_only: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the REST API (owns the database file while it runs).
    Serve {
        /// Address to listen on (default 127.0.0.1:8080, or `api.bind` in the configuration).
        #[arg(long)]
        bind: Option<String>,
        /// With --read-only: the writer's URL, named in the 405 a write gets (or `api.writer_url`).
        #[arg(long)]
        writer: Option<String>,
    },
    /// Build a fresh demo database from the fixtures (./oversight-demo.duckdb, or --db) and serve it.
    Demo {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Create, list or revoke API keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Print the OpenAPI document (openapi/openapi.json holds a copy).
    Openapi,
    /// Import files with a source profile (one batch per input; a multi-file profile takes its files together).
    Import(ImportArgs),
    /// List import batches, newest first.
    Batches {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the rows a batch rejected (file, line, column, value, reason).
    Rejects {
        batch: i64,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// List the shipped source profiles, print one, or check one against files (`profiles check`).
    #[command(args_conflicts_with_subcommands = true)]
    Profiles {
        /// Print this profile's TOML (a starting point for your own).
        #[arg(long)]
        show: Option<String>,
        #[command(subcommand)]
        action: Option<ProfilesCmd>,
    },
    /// Write the synthetic fixtures (planted effects documented in their README).
    Fixtures {
        #[arg(long)]
        out: PathBuf,
        /// Default: the seed of the committed fixtures.
        #[arg(long, default_value_t = oversight_import::fixtures::COMMITTED_SEED)]
        seed: u64,
    },
    /// List or edit jurisdictions.
    #[command(subcommand)]
    Jurisdictions(JurisdictionsCmd),
    /// Compute indicators into the metric store (only what imports since the last run touched).
    Compute {
        /// Only this indicator.
        #[arg(long)]
        indicator: Option<String>,
        /// Only this jurisdiction.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Recompute everything from this date (YYYY-MM-DD) on.
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Recompute everything.
        #[arg(long)]
        full: bool,
        /// Compute every indicator from a daily cube built elsewhere: the directory the Spark cube job
        /// (contrib/spark) wrote from this database's lake (checked against its cube.json first).
        #[arg(long, value_name = "DIR")]
        cube: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The catalogue of indicators.
    Indicators {
        #[arg(long)]
        json: bool,
    },
    /// Print an indicator series from the metric store (suppressed values withheld).
    Series(SeriesArgs),
    /// Data-quality notes found by the last runs.
    Quality {
        #[arg(long)]
        jurisdiction: Option<String>,
    },
    /// Policy events that impact analyses run around (287(g) agreements, detainer policies, …).
    #[command(subcommand)]
    Events(EventsCmd),
    /// Did an indicator change after a policy event (its, did)? Are a group's stops rarer after dark (vod)?
    /// Are a group's members searched on less evidence (threshold)?
    #[command(subcommand)]
    Analyze(AnalyzeCmd),
    /// Write a record-level extract (public columns only, filtered, in a stable order) and its data
    /// dictionary (datapackage.json beside it): the same bytes as GET /v1/extracts/{dataset}.
    Export(ExportArgs),
    /// The Parquet lake: records, daily cube and metric points as Hive-partitioned Parquet with a manifest.
    #[command(subcommand)]
    Lake(LakeCmd),
    /// Print a cross-tabulation safe to publish (small cells withheld, with what would give them back): the
    /// same as GET /v1/tables/{dataset}.
    Table(TableArgs),
    /// Write a consistent snapshot of the database (Parquet, with a manifest of row counts and sha256s) to a new
    /// directory; while the server runs, the server writes it (reads go on, writes wait).
    Backup {
        /// The snapshot's directory (must not exist, or be empty).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a snapshot into a new database file (--db, which must not exist), after checking every file
    /// against the snapshot's manifest.
    Restore {
        /// The snapshot's directory.
        dir: PathBuf,
    },
    /// Benchmark helpers (see bench/).
    #[command(subcommand, hide = true)]
    Bench(BenchCmd),
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCmd {
    /// Write a large OPP-format stop file.
    GenStops {
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "2013-01-01")]
        start: chrono::NaiveDate,
        #[arg(long, default_value_t = 1095)]
        days: u32,
    },
    /// Write a large canonical crime-report file.
    GenCrime {
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2)]
        seed: u64,
        #[arg(long, default_value = "2013-01-01")]
        start: chrono::NaiveDate,
        #[arg(long, default_value_t = 1095)]
        days: u32,
        /// Spread over this many jurisdictions (j000, j001, …); 1 writes `bench`.
        #[arg(long, default_value_t = 1)]
        jurisdictions: u32,
    },
    /// Write canonical stops over many jurisdictions (the scale benchmark's input).
    GenCanonicalStops {
        #[arg(long)]
        rows: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2)]
        seed: u64,
        #[arg(long, default_value = "2019-01-01")]
        start: chrono::NaiveDate,
        #[arg(long, default_value_t = 2191)]
        days: u32,
        #[arg(long, default_value_t = 500)]
        jurisdictions: u32,
    },
    /// Export a record table's public columns to Parquet.
    ExportParquet {
        /// stops, detainers, crime_reports, complaints, allegations, policy_events or populations.
        #[arg(long)]
        table: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// DuckDB's COPY of the file into a table of the file's own shape.
    DuckdbCopy { file: PathBuf },
    /// DuckDB's COPY of the file into the stops table itself (a column list; defaults for bookkeeping).
    DuckdbCopyStops { file: PathBuf },
    /// DuckDB's CSV reader loading the file into the stops table.
    DuckdbInsert { file: PathBuf },
    /// DuckDB storing the stops already in the database again, from memory (the storage floor).
    DuckdbReinsert,
    /// Each data table's rows and an order-independent digest of them (comparing two databases).
    TableDigests,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LakeCmd {
    /// Write the lake: `records/dataset=…/jurisdiction=…/year=…`, `cube/…`, `metric_points/…`, `tables/…`,
    /// and manifest.json (schema version, batches, rows per table, sha256 per file).
    Export {
        /// A new (or empty) directory.
        #[arg(long)]
        to: PathBuf,
        /// Every column (an administrator's lake, the one `lake import` takes); default the public columns.
        #[arg(long)]
        full: bool,
    },
    /// Load a full lake, checked against its manifest first: into an empty database, the same tables; into a
    /// populated one, the batches it does not have yet (then the indicators are recomputed).
    Import { dir: PathBuf },
    /// Print the daily cube's definition as Spark SQL (what contrib/spark/cube.sql holds; the Spark job runs it
    /// over a lake's records and `oversight compute --cube` takes its output).
    CubeSql,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// stops, detainers, crime-reports, complaints, policy-events or populations.
    #[arg(long)]
    pub(crate) dataset: String,
    /// A shipped profile name (see `oversight profiles`), `canonical`, or the path of a .toml profile.
    #[arg(long)]
    pub(crate) profile: String,
    /// The jurisdiction of every record (overrides the profile's).
    #[arg(long)]
    pub(crate) jurisdiction: Option<String>,
    /// Supersede the batch that already holds this input, in one transaction.
    #[arg(long)]
    pub(crate) replace: bool,
    /// Also write the rejected rows to this CSV file.
    #[arg(long)]
    pub(crate) rejects: Option<PathBuf>,
    /// Land nothing when more rows are rejected than `[import] max_reject_share` allows (default 5%); without
    /// it the batch lands and the command exits 4.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Import every file in this directory that no batch holds yet (by sha256), one batch each.
    #[arg(long, conflicts_with = "files")]
    pub(crate) dir: Option<PathBuf>,
    /// Upload through a running `oversight serve` at this URL instead of opening the database (the server
    /// owns the file while it runs). Only shipped profile names are accepted over HTTP.
    #[arg(long)]
    pub(crate) server: Option<String>,
    /// API key (role analyst or higher) for --server.
    #[arg(long, env = "OVERSIGHT_API_KEY", hide_env_values = true)]
    pub(crate) key: Option<String>,
    /// Files to import.
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfilesCmd {
    /// A dry run of a profile on files: for each canonical field its source column, the distinct values
    /// with the codes they map to and their counts, unmapped values, date and time failures and
    /// ambiguities, repeated keys, filtered rows and a sample of mapped records. Writes to no database.
    Check {
        /// A shipped profile name, `canonical`, or the path of a .toml profile.
        profile: String,
        /// The files one import would read together.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The jurisdiction of every record (overrides the profile's).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// The dataset, where the profile is `canonical`.
        #[arg(long)]
        dataset: Option<String>,
        /// How many distinct values to show per field.
        #[arg(long, default_value_t = 15)]
        top: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum JurisdictionsCmd {
    /// List jurisdictions.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Create a jurisdiction or set attributes of one.
    Set(Box<JurisdictionSet>),
}

#[derive(Debug, Args)]
pub(crate) struct JurisdictionSet {
    pub(crate) id: String,
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// state, county, city, agency, neighborhood, district or other.
    #[arg(long)]
    pub(crate) kind: Option<String>,
    #[arg(long)]
    pub(crate) parent: Option<String>,
    #[arg(long)]
    pub(crate) state: Option<String>,
    #[arg(long)]
    pub(crate) fips: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) lat: Option<f64>,
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) lng: Option<f64>,
    /// IANA time zone, e.g. America/New_York.
    #[arg(long)]
    pub(crate) timezone: Option<String>,
    /// Divide this jurisdiction's per-capita rates by that jurisdiction's residents (e.g. a city by its county).
    #[arg(long)]
    pub(crate) benchmark: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCmd {
    /// List policy events.
    List {
        #[arg(long)]
        jurisdiction: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add a policy event by hand.
    Add {
        #[arg(long)]
        jurisdiction: String,
        /// Effective date (YYYY-MM-DD).
        #[arg(long)]
        date: chrono::NaiveDate,
        /// 287g_jail_model, 287g_task_force, 287g_warrant_service_officer, detainer_policy, sanctuary_policy,
        /// state_law, mou, training or other.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        title: String,
        /// Where the event is documented (a URL, an ordinance number).
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        agency: Option<String>,
    },
    /// Remove an event added by hand (imported events change by re-importing their file with --replace).
    Remove { id: i64 },
}

/// Options shared by the impact analyses.
#[derive(Debug, Args)]
pub(crate) struct ImpactArgs {
    /// Indicator id (see `oversight indicators`), e.g. crime_reports.count.
    #[arg(long)]
    pub(crate) indicator: String,
    /// Policy event id (see `oversight events list`).
    #[arg(long)]
    pub(crate) event: i64,
    /// Default: the event's jurisdiction.
    #[arg(long)]
    pub(crate) jurisdiction: Option<String>,
    /// month (default), quarter or week.
    #[arg(long, default_value = "month")]
    pub(crate) grain: String,
    /// How the intervals are computed: quasi-ar1 (default: quasi-likelihood with AR(1) errors, t critical
    /// values on each effect's Satterthwaite degrees of freedom) or hac (Newey–West / Driscoll–Kraay errors, normal values: the estimator before), or
    /// `analysis.inference`.
    #[arg(long)]
    pub(crate) inference: Option<String>,
    /// Newey–West lags for --inference hac (default ⌊4·(T/100)^(2/9)⌋, or `analysis.hac_maxlags`).
    #[arg(long)]
    pub(crate) maxlags: Option<usize>,
    /// Fewest complete periods before the event (default 12, or `analysis.min_pre_periods`).
    #[arg(long)]
    pub(crate) min_pre: Option<usize>,
    /// Fewest complete periods from the event on (default 6, or `analysis.min_post_periods`).
    #[arg(long)]
    pub(crate) min_post: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AnalyzeCmd {
    /// Interrupted time series of one indicator series around a policy event.
    Its {
        #[command(flatten)]
        common: ImpactArgs,
        /// One group of the indicator, e.g. race:hispanic (default all).
        #[arg(long)]
        group: Option<String>,
        /// ols (on logs) or poisson (on counts, default).
        #[arg(long, default_value = "poisson")]
        model: String,
    },
    /// Difference in differences: a group against a reference group (default everyone else).
    Did {
        #[command(flatten)]
        common: ImpactArgs,
        /// The group whose change is measured, e.g. race:hispanic.
        #[arg(long)]
        group: String,
        /// The comparison group, e.g. race:white (default: all except the group; counts only).
        #[arg(long)]
        reference: Option<String>,
    },
    /// Veil of darkness: is a group's share of stops lower after dark than in daylight at the same clock time?
    Vod {
        #[arg(long)]
        jurisdiction: String,
        /// A year (2018) or a range of years (2016-2020, pooled with year fixed effects).
        #[arg(long)]
        year: String,
        #[arg(long, default_value = "black")]
        group: String,
        #[arg(long, default_value = "white")]
        reference: String,
        /// Spline degrees of freedom for minute of day (default 6, or `analysis.spline_df`).
        #[arg(long)]
        df: Option<usize>,
        /// Leave out district fixed effects.
        #[arg(long)]
        no_districts: bool,
        #[arg(long)]
        json: bool,
    },
    /// Threshold test: the probability of contraband at which officers search each group (a lower
    /// threshold: searched on less evidence), from stops, searches and hits by race and district.
    Threshold {
        #[arg(long)]
        jurisdiction: String,
        /// A year (2018) or a range (2016-2020); default every stop.
        #[arg(long)]
        year: Option<String>,
        /// Race codes compared, comma-separated.
        #[arg(long, default_value = "black,hispanic,white", value_delimiter = ',')]
        races: Vec<String>,
        #[arg(long, default_value = "white")]
        reference: String,
        /// One jurisdiction-wide cell per race instead of the hierarchy over districts.
        #[arg(long)]
        no_districts: bool,
        /// Kept draws per chain (4 chains; default 3000).
        #[arg(long)]
        draws: Option<u64>,
        /// The sampler's seed (the same seed and data give the same result).
        #[arg(long)]
        seed: Option<u64>,
        /// Also print every race × district cell (threshold and posterior predictive check).
        #[arg(long)]
        cells: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCmd {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        /// viewer, analyst or admin.
        #[arg(long)]
        role: String,
        /// Who or what holds the key (shown in the audit log).
        #[arg(long)]
        name: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id.
    Revoke { id: i64 },
}

/// `oversight series`: one indicator's points, as a table or CSV (the API's series.csv columns).
#[derive(Debug, Args)]
pub(crate) struct SeriesArgs {
    #[arg(long)]
    pub(crate) indicator: String,
    #[arg(long)]
    pub(crate) jurisdiction: String,
    /// week, month, quarter, year or all.
    #[arg(long, default_value = "month")]
    pub(crate) grain: String,
    /// One group (e.g. race:black); default every group.
    #[arg(long)]
    pub(crate) group: Option<String>,
    #[arg(long)]
    pub(crate) from: Option<chrono::NaiveDate>,
    #[arg(long)]
    pub(crate) to: Option<chrono::NaiveDate>,
    #[arg(long)]
    pub(crate) csv: bool,
}

/// Which records an export or a table reads: a dataset, a jurisdiction, dates and row filters.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordsArgs {
    /// stops, detainers, crime-reports, complaints, allegations (one row per allegation, dated and placed by
    /// its complaint), policy-events or populations.
    #[arg(long)]
    pub(crate) dataset: String,
    #[arg(long)]
    pub(crate) jurisdiction: Option<String>,
    /// First date to include (the dataset's own date: a stop's date, a request's received date, …).
    #[arg(long)]
    pub(crate) since: Option<chrono::NaiveDate>,
    /// Last date to include.
    #[arg(long)]
    pub(crate) until: Option<chrono::NaiveDate>,
    /// A row filter as the API takes it, `column=value` or `column__op=value` (repeat for more).
    #[arg(long = "where", value_name = "FILTER")]
    pub(crate) filters: Vec<String>,
}

/// `oversight export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) records: RecordsArgs,
    /// Comma-separated public columns (default all of them).
    #[arg(long)]
    pub(crate) columns: Option<String>,
    /// Order: comma-separated public columns, `-` first for descending (the date, batch and line follow).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) sort: Option<String>,
    /// csv, jsonl or parquet.
    #[arg(long, default_value = "csv")]
    pub(crate) format: String,
    /// CSV: start with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    pub(crate) bom: bool,
    /// CSV: the delimiter, `,` (default), `;`, `tab` or `|`.
    #[arg(long)]
    pub(crate) delimiter: Option<String>,
    /// The file to write (datapackage.json goes beside it).
    #[arg(long)]
    pub(crate) to: PathBuf,
}

/// `oversight table`.
#[derive(Debug, clap::Args)]
pub(crate) struct TableArgs {
    #[command(flatten)]
    pub(crate) records: RecordsArgs,
    /// What the rows are: a public coded, true/false or text column, or year, quarter, month.
    #[arg(long)]
    pub(crate) rows: String,
    /// What the columns are (the same choices).
    #[arg(long)]
    pub(crate) columns: Option<String>,
    /// A public true/false column: each cell also gives its share, with an interval.
    #[arg(long)]
    pub(crate) measure: Option<String>,
    /// json, csv or html.
    #[arg(long, default_value = "json")]
    pub(crate) format: String,
}
