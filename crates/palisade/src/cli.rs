//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about = "Secure cloud-native applications from commit to run time",
    long_about = "Palisade scans Kubernetes manifests and Dockerfiles for security misconfigurations, \
                  explains every finding and how to fix it, and fails CI builds on the findings you choose.",
    after_help = "Examples:\n  palisade scan config ./deploy\n  palisade scan config -f sarif -o palisade.sarif .\n  kubectl get deploy -o yaml | palisade scan config -\n  palisade explain PAL-K8S-001"
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
    },
    /// List or document the built-in rules
    #[command(subcommand)]
    Rules(RulesCommand),
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
    pub common: CommonScanArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PssArg {
    Baseline,
    Restricted,
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
        /// Only rules of this scanner (kubernetes, dockerfile)
        #[arg(long)]
        scanner: Option<String>,
    },
    /// Print the rule reference (docs/rules.md) as Markdown
    Docs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}
