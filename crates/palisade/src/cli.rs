//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about = "Secure cloud-native applications from commit to run time",
    long_about = "Palisade finds misconfigurations in Kubernetes manifests and Dockerfiles, known vulnerabilities \
                  and leaked credentials in images and code, guards the cluster as an admission webhook, and keeps \
                  findings and security events in one place with `palisade serve`. Every finding says why it matters \
                  and how to fix it; CI builds fail on the findings you choose.",
    after_help = "Examples:\n  palisade scan config ./deploy\n  palisade scan config -f sarif -o palisade.sarif .\n  kubectl get deploy -o yaml | palisade scan config -\n  palisade scan image ghcr.io/org/app:1.4\n  palisade scan secrets --git .\n  palisade serve\n  palisade explain PAL-K8S-001"
)]
pub struct Cli {
    /// Do not colour output (also off when NO_COLOR is set or output is not a terminal)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Print only the report and errors: no notes or progress on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Project settings file (default: palisade.toml in the project root)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan what ships
    #[command(subcommand)]
    Scan(ScanCommand),
    /// List every package in an image or a directory, as an SBOM
    #[command(
        after_help = "Targets:\n  DIR                          a project or a root filesystem\n  oci:DIR[:TAG]                an OCI image layout (a folder with index.json is recognised too)\n  oci-archive:FILE[:TAG]       an OCI layout in a tar\n  docker-archive:FILE          a `docker save` tar (recognised without the prefix too)\n  HOST/REPO[:TAG|@DIGEST]      an image in a registry (credentials from ~/.docker/config.json)"
    )]
    Sbom(SbomArgs),
    /// Manage the local vulnerability database (OSV advisories)
    #[command(subcommand)]
    Db(DbCommand),
    /// Version orderings: check why a version matched an advisory
    #[command(subcommand)]
    Version(VersionCommand),
    /// Explain a rule: what it checks, why it matters, how to fix it
    Explain {
        /// Rule id, e.g. PAL-K8S-001
        rule_id: String,
        #[command(flatten)]
        policies: PolicyArgs,
    },
    /// Test and check custom Rego policies
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List or document the built-in rules
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run the Kubernetes admission webhook; make its configuration and certificates
    #[command(subcommand)]
    Admission(AdmissionCommand),
    /// Run the platform server: web console, API, findings from uploaded reports, audit log
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Read security events from files (Kubernetes audit, CloudTrail, Falco, JSON, syslog) into the event store
    #[command(after_help = INGEST_HELP)]
    Ingest(IngestArgs),
    /// Search the stored security events
    #[command(subcommand)]
    Events(EventsCommand),
    /// Run Sigma rules over event files and print one JSON line per match
    #[command(after_help = DETECT_HELP)]
    Detect(DetectArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Find misconfigurations in Kubernetes manifests and Dockerfiles
    #[command(
        after_help = "Exit status: 0 when no finding at the selected severities remains (or --exit-code is 0), \
                            the --exit-code value when some do, 2 for usage errors or when nothing could be scanned."
    )]
    Config(ConfigScanArgs),
    /// Find leaked credentials in files, directories, images (every layer) or git history
    #[command(
        after_help = "Findings show the first four characters of a secret; --show-secrets shows it whole.\n\
Suppress one with a `palisade:allow` comment on its line, or its fingerprint in .palisadeignore.yaml."
    )]
    Secrets(SecretScanArgs),
    /// Find known vulnerabilities in the packages of a container image
    #[command(after_help = VULN_HELP)]
    Image(VulnScanArgs),
    /// Find known vulnerabilities in the packages of a directory (lockfiles and installed packages)
    #[command(after_help = VULN_HELP)]
    Fs(VulnScanArgs),
    /// Find known vulnerabilities in the packages an SBOM lists (CycloneDX or SPDX JSON)
    #[command(after_help = VULN_HELP)]
    Sbom(VulnScanArgs),
}

const VULN_HELP: &str = "Advisories come from the local database: fill it with `palisade db update` (or `palisade db import`).\n\
Exit status: the --exit-code value when reported vulnerabilities remain, 2 for usage errors or when the target cannot be read.";

#[derive(Debug, Args)]
pub struct VulnScanArgs {
    /// Image reference, image layout or archive, directory, or SBOM file
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Leave out vulnerabilities that have no fixed version yet
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// OpenVEX document whose not_affected and fixed statements suppress matches; repeatable
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Never touch the network (the database is only read; say how old it is)
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub common: CommonScanArgs,
}

#[derive(Debug, Args)]
pub struct SecretScanArgs {
    /// File, directory, image (any target `palisade sbom` reads) or, with --git, a repository
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Scan the lines every commit of the history added (TARGET is a git repository)
    #[arg(long)]
    pub git: bool,
    /// Also scan files that .gitignore and .ignore exclude
    #[arg(long)]
    pub no_ignore: bool,
    /// Show secrets in full (default: the first four characters)
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub common: CommonScanArgs,
}

/// Where the vulnerability database lives.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// Cache directory holding the database
    #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV advisories: directories of OSV JSON/YAML files, or all.zip archives from osv.dev
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Download the latest advisories (conditional requests; the old database stays if anything fails)
    Update {
        /// Ecosystems to update, as OSV names them (PyPI, npm, crates.io, Go, Debian, Alpine, …); repeatable
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
        /// Base URL of the OSV export (for mirrors)
        #[arg(
            long,
            value_name = "URL",
            default_value = "https://osv-vulnerabilities.storage.googleapis.com"
        )]
        db_source: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show what the database holds and how old it is
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Print `<`, `=` or `>` for two versions of an ecosystem (Debian, Alpine, Red Hat, PyPI, npm, crates.io, Go, Maven, RubyGems, NuGet, Packagist)
    Compare {
        ecosystem: String,
        a: String,
        b: String,
    },
}

#[derive(Debug, Args)]
pub struct ConfigScanArgs {
    /// Files or directories to scan; `-` reads standard input
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only run the Pod Security Standards checks of this level, and report the level each workload meets
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub pss: Option<PssArg>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// What the policies get as input: by default told by file name (Kubernetes objects, Dockerfiles)
    #[arg(long, value_enum, value_name = "TYPE")]
    pub input_type: Option<InputTypeArg>,
    #[command(flatten)]
    pub common: CommonScanArgs,
}

/// Custom Rego policies to load (besides those palisade.toml names).
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// Rego policy file or folder (searched recursively); repeatable
    #[arg(long = "policy", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// JSON or YAML file (or folder) the policies read as `data`; repeatable
    #[arg(long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputTypeArg {
    Kubernetes,
    Dockerfile,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the policies' test_* rules, as `opa test` does
    #[command(
        after_help = "Data files (JSON, YAML) in the folders are loaded as `data`, as `opa test` loads them.\n\
Exit status: 0 when every test passes, 1 when one fails, 2 when the policies cannot be loaded."
    )]
    Test {
        /// Policy files or folders
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// More data files or folders; repeatable
        #[arg(long = "data", value_name = "FILE")]
        data: Vec<PathBuf>,
        /// Show each test's duration and what it printed
        #[arg(short, long)]
        verbose: bool,
    },
    /// Report syntax and compile errors in policies as file:line:col: message
    #[command(after_help = "Exit status: 0 when the policies compile, 2 when any has an error.")]
    Check {
        /// Policy files or folders
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Data files or folders the policies read; repeatable
        #[arg(long = "data", value_name = "FILE")]
        data: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PssArg {
    Baseline,
    Restricted,
}

const SERVE_HELP: &str = "Settings come from the [server] and [oidc] tables of the global --config FILE or $PALISADE_CONFIG \
(never from a palisade.toml found in the current project: a cloned repository must not configure your server); \
flags win over it.\n\
Data: SQLite in DIR/palisade.db; DIR is --data-dir, else [server] data_dir, else $PALISADE_DATA_DIR, else \
$XDG_DATA_HOME/palisade (~/.local/share/palisade), else ./palisade-data.\n\
First start: creates the `admin` account and prints a one-time login link on stderr (valid 24 hours). \
Lost it? `palisade serve --reset-admin` prints a new one.\n\
Stops gracefully on Ctrl-C (SIGINT) or SIGTERM. Exit status 2 for bad settings, database or certificate.\n\n\
Examples:\n  palisade serve\n  palisade serve --listen 0.0.0.0:7878 --tls-cert tls.crt --tls-key tls.key\n  \
palisade serve --database postgres://palisade@db/palisade?sslmode=require\n  \
palisade scan config ./deploy -f json --upload http://127.0.0.1:7878 --token pal_…";

const INGEST_HELP: &str = "Files of one event a line (syslog, NDJSON; gzip decompressed) are read and stored \
16 MiB at a time, whatever their size; other files are read whole (at most 256 MiB decompressed). \
The kind is detected from a file's start unless --kind says: {\"Records\": …} is CloudTrail, an EventList or \
audit.k8s.io/v1 Event is Kubernetes audit, lines with rule/priority/output are Falco, other JSON is JSON \
(newline-delimited, an array, or one object), anything else syslog (RFC 5424 or RFC 3164 lines).\n\
Nothing is dropped: input that cannot be parsed is stored as an event with parse_error set (search \
`parse_error:*`) and reported on stderr with its file and position; an event over 256 KiB is truncated.\n\
Store: DIR/events.db (SQLite) with DIR as for `palisade serve` (--data-dir, [server] data_dir, \
$PALISADE_DATA_DIR, ~/.local/share/palisade), or --store URL.\n\
Exit status: 0 when every file was read and parsed, 1 when some input could not be (the rest is stored), \
2 for usage errors or when the store cannot be opened.\n\n\
Examples:\n  palisade ingest audit.json trail.json.gz\n  palisade ingest --kind falco --source falco-prod events.log\n  \
palisade ingest --dry-run audit.json | head";

/// Which parser to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventKindArg {
    /// Detect from the file's start
    Auto,
    K8sAudit,
    Cloudtrail,
    Falco,
    Json,
    Syslog,
}

/// Where the event store is.
#[derive(Debug, Args, Clone)]
pub struct EventStoreArgs {
    /// Folder holding events.db [default: as for `palisade serve`]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The event store instead of DIR/events.db: a SQLite file or a postgres:// URL
    #[arg(long, value_name = "URL", env = "PALISADE_EVENTS_STORE")]
    pub store: Option<String>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to read (gzip is recognised); - for standard input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The kind of data in the files
    #[arg(long, value_enum, default_value = "auto")]
    pub kind: EventKindArg,
    /// Source name stored with each event [default: the kind, e.g. cloudtrail, k8s-audit]
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Parse and print the events as JSON lines instead of storing them
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: EventStoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Find events: field:value filters, words, AND/OR/NOT, parentheses
    #[command(after_help = EVENTS_SEARCH_HELP)]
    Search(EventsSearchArgs),
}

const EVENTS_SEARCH_HELP: &str = "Search language:\n  \
verb:create objectRef.resource:pods          field filters (AND is implied)\n  \
user.username:\"system:admin\" OR verb:delete  quoted values, OR\n  \
NOT outcome:success AND (pods OR secrets)    NOT (or -term), parentheses, words: full text\n  \
requestURI:/api/v1/namespaces/*/secrets*     * matches any run of characters\n  \
parse_error:*                                the field is present\n\
Fields: time, source, kind, host, user, action, object, outcome, source_ip, parse_error, or a dotted path \
into the event (user.username, objectRef.resource, userIdentity.arn, …). Comparisons ignore case.\n\
Times (--from, --to): RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01, UTC midnight), `now`, or an age \
such as 30s, 15m, 24h, 7d (that long ago).\n\
A search that starts with `-` goes after `--`: palisade events search -- -verb:get\n\n\
Examples:\n  palisade events search 'verb:create objectRef.subresource:exec'\n  \
palisade events search outcome:failure --from 24h -f json\n  palisade events search --limit 10";

/// Output format of `events search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsFormatArg {
    /// One line per event
    Table,
    /// One JSON object per line (the stored event)
    Json,
}

#[derive(Debug, Args)]
pub struct EventsSearchArgs {
    /// The search (several words are joined with spaces) [default: everything]
    #[arg(value_name = "QUERY")]
    pub query: Vec<String>,
    /// Events at or after this time
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Events before this time
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// At most this many events, newest first (1 to 10000)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: EventsFormatArg,
    #[command(flatten)]
    pub store: EventStoreArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:7878, or [server] listen]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Folder for the SQLite database [default: see below]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…) or SQLite file, instead of DIR/palisade.db
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// PEM certificate (chain) to serve HTTPS with; needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Make sure the `admin` account exists and is enabled, print a new one-time login link, and exit
    #[arg(long)]
    pub reset_admin: bool,
    /// Worker threads (default: one per core)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

/// Sending a report to `palisade serve`.
#[derive(Debug, Args, Clone, Default)]
pub struct UploadArgs {
    /// After writing the report, upload it to this palisade serve (e.g. https://palisade.example.com)
    #[arg(long, value_name = "URL", env = "PALISADE_UPLOAD_URL")]
    pub upload: Option<String>,
    /// API token for --upload (analyst role or above)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "PALISADE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// The asset the uploaded report is about (image digest, repository name, …) [default: the scan's target]
    #[arg(long, value_name = "NAME", env = "PALISADE_ASSET")]
    pub asset: Option<String>,
    /// Allow --upload over plain http:// to a host other than this machine (the token travels in clear)
    #[arg(long)]
    pub insecure_upload: bool,
}

/// Flags every scan takes.
#[derive(Debug, Args)]
pub struct CommonScanArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Severities to report, comma-separated (e.g. HIGH,CRITICAL); default all
    #[arg(long, value_name = "LIST")]
    pub severity: Option<String>,
    /// Exit with this status when reported findings remain
    #[arg(long, value_name = "N")]
    pub exit_code: Option<i32>,
    /// Ignore file (default: .palisadeignore.yaml in the project root, if present)
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// Also list suppressed findings (they are always counted)
    #[arg(long)]
    pub show_suppressed: bool,
    #[command(flatten)]
    pub upload: UploadArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Sarif,
    Junit,
    /// CycloneDX 1.6 with vulnerabilities (vulnerability scans only)
    Cyclonedx,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Image or directory to inventory
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Output format
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: SbomFormat,
    /// Write the SBOM to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these catalogers, comma-separated (an unknown name lists them all)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub catalogers: Vec<String>,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// How to reach and pick images.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Platform to pick from a multi-platform image
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", default_value = "linux/amd64")]
    pub platform: String,
    /// Reach this registry (HOST or HOST:PORT) over plain HTTP; repeatable
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SbomFormat {
    Table,
    Json,
    Cyclonedx,
    Spdx,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the built-in rules
    List {
        /// Output format
        #[arg(short, long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Only rules of this scanner (kubernetes, dockerfile, secret, custom)
        #[arg(long)]
        scanner: Option<String>,
        #[command(flatten)]
        policies: PolicyArgs,
    },
    /// Print the rule reference (docs/rules.md) as Markdown
    Docs,
    /// Check Sigma rules and copy the ones that load into the server's rule folder
    #[command(subcommand)]
    Import(RulesImportCommand),
    /// List the Sigma detection rules: the built-in pack and imported rules
    Sigma {
        /// Output format
        #[arg(short, long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Folder the server keeps its data in (imported rules are in DIR/rules/sigma)
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesImportCommand {
    /// Import a folder (or file) of Sigma rules, e.g. a SigmaHQ checkout's rules/
    #[command(
        after_help = "Every rule is parsed and compiled; rules that cannot be used are listed with the reason \
and left out. The rest are copied to DATA_DIR/rules/sigma/NAME/, which `palisade serve` loads at start \
(next to the built-in pack). Importing the same NAME again replaces it."
    )]
    Sigma(RulesImportArgs),
}

#[derive(Debug, Args)]
pub struct RulesImportArgs {
    /// Folder or file of Sigma rules (.yml/.yaml)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Name of the imported set [default: the folder's name]
    #[arg(long)]
    pub name: Option<String>,
    /// Folder the server keeps its data in [default: as for `palisade serve`]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Check only; copy nothing
    #[arg(long)]
    pub dry_run: bool,
}

const DETECT_HELP: &str = "Events: JSON (one object, an array, objects one after another), NDJSON, CloudTrail \
files ({\"Records\": [...]}), Kubernetes audit logs and EventLists, Windows event JSON ({\"Event\": {\"System\", \
\"EventData\"}}, as SigmaHQ's regression data) and syslog lines; gzip is recognised; - reads standard input.\n\
Each event's source (and so which rules run on it) is recognised from its fields, or set with --source.\n\
Rules: Sigma rule files or folders (--rules, repeatable); without --rules the built-in Kubernetes and cloud \
pack runs (add it to your own with --builtin). Correlations keep their windows across the files, in event time.\n\n\
Output: one JSON object per match: type (detection|correlation), rule_id, rule_title, level, tags, source, \
entities, file, event (its 1-based position in the file), time.\n\
Exit status: 0, or --exit-code when something matched; 2 for unreadable rules or events.\n\n\
Examples:\n  palisade detect audit.log\n  palisade detect --rules sigma/rules --source windows events.json\n  \
palisade detect --rules my-rules/ --builtin --min-level high cloudtrail/*.json.gz";

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Event files; - for standard input
    #[arg(required = true, value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
    /// Sigma rule file or folder (repeatable)
    #[arg(short, long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Also run the built-in pack when --rules is given
    #[arg(long)]
    pub builtin: bool,
    /// Extra processing pipeline (pySigma YAML), applied after the shipped ones (repeatable)
    #[arg(long, value_name = "FILE")]
    pub pipeline: Vec<PathBuf>,
    /// The events' source instead of recognising it: k8s-audit, cloudtrail, gcp-audit, azure-activity, okta, github-audit, auditd, process, windows, falco, syslog
    #[arg(long, value_name = "KIND")]
    pub source: Option<String>,
    /// Run every rule on every event, whatever its logsource
    #[arg(long)]
    pub no_routing: bool,
    /// Only rules at or above this level (informational, low, medium, high, critical)
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// Don't run these rules: an id, tag:NAME, level:NAME or status:NAME (repeatable)
    #[arg(long, value_name = "SELECTOR")]
    pub disable: Vec<String>,
    /// Put the matching event in each line
    #[arg(long)]
    pub include_event: bool,
    /// Exit status when something matched
    #[arg(long, default_value_t = 0)]
    pub exit_code: u8,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Serve the admission webhook over HTTPS: /validate, /mutate, /healthz, /readyz, /metrics
    #[command(
        after_help = "Settings (TOML or YAML) come from the global --config FILE: namespace modes, deny rules, \
exemptions, mutation defaults, the decision log. See README.md, \"Admission webhook\".\n\
Stops gracefully on SIGTERM or SIGINT; policy files and the certificate are reloaded when they change."
    )]
    Serve(AdmissionServeArgs),
    /// Print the ValidatingWebhookConfiguration (and MutatingWebhookConfiguration) YAML
    Config(AdmissionConfigArgs),
    /// Make a CA and a serving certificate for the webhook's Service
    Certs(AdmissionCertsArgs),
}

#[derive(Debug, Args)]
pub struct AdmissionServeArgs {
    /// PEM certificate (chain) to serve
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// PEM private key of the certificate
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// Worker threads (default: one per core)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct AdmissionConfigArgs {
    /// The webhook's Service, as NAMESPACE/NAME
    #[arg(long, value_name = "NS/NAME")]
    pub service: String,
    /// PEM file of the CA that signed the serving certificate
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: PathBuf,
    /// Also print a MutatingWebhookConfiguration for /mutate
    #[arg(long)]
    pub mutating: bool,
    /// Port of the Service
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    pub port: u16,
    /// Name of the configuration objects
    #[arg(long, value_name = "NAME", default_value = "palisade")]
    pub name: String,
    /// failurePolicy of the validating webhooks (the mutating one always ignores failures)
    #[arg(long, value_enum, default_value = "fail")]
    pub failure_policy: FailurePolicyArg,
    /// timeoutSeconds; keep it above the server's timeout-ms
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub timeout_seconds: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailurePolicyArg {
    Fail,
    Ignore,
}

#[derive(Debug, Args)]
pub struct AdmissionCertsArgs {
    /// DNS name of the webhook's Service, e.g. palisade-webhook.palisade.svc; repeatable
    #[arg(long = "dns", value_name = "NAME", required = true)]
    pub dns: Vec<String>,
    /// Folder to write ca.crt, ca.key, tls.crt and tls.key to
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Days the serving certificate is valid
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u32,
    /// Days the CA is valid
    #[arg(long, value_name = "N", default_value_t = 3650)]
    pub ca_days: u32,
}
