//! `rcraft pack`: args -> [`crate::pack::PackOptions`] -> [`crate::pack::pack`].

use super::PackArgs;
use super::printer::Printer;
use crate::base::{BlobCache, ResolvedBase};
use crate::error::Error;
use crate::oci::Digest;
use crate::pack::{PackOptions, build_plan, pack_with_bases};
use crate::progress::Progress;
use crate::project;
use crate::pull::{PullOptions, pull_base};
use crate::registry::{Client, ClientOptions};

/// Runs `rcraft pack`.
pub fn run(args: PackArgs, printer: &Printer) -> Result<(), Error> {
    let cwd = super::current_dir()?;
    let project_dir = cwd.join(&args.project_dir);
    let project_dir = project_dir
        .canonicalize()
        .map_err(|source| Error::UserPath {
            action: "open project directory",
            path: project_dir.clone(),
            source,
        })?;
    let base_args = BaseArgs::from_args(&args)?;
    let output_dir = cwd.join(args.output.unwrap_or_else(|| cwd.clone()));
    let source_date_epoch = source_date_epoch()?;

    let loaded = project::load(&project_dir)?;
    for warning in &loaded.warnings {
        printer.warn(warning);
    }
    // Before any work (pulling a base image is work): nothing is silently ignored.
    crate::lifecycle::preflight::check(&loaded.project)?;
    let opts = PackOptions {
        output_dir,
        platform: args.platform,
        build_for: args.build_for,
        source_date_epoch,
        archive_mirror: args.archive_mirror.clone(),
        update_lock: args.update_lock,
        worker_server: worker_server(printer),
    };
    let bases = pull_bases(&loaded.project, &opts, &base_args, printer)?;
    for packed in pack_with_bases(&loaded.project, &opts, &bases, printer)? {
        printer.detail(&format!("{} {}", packed.ref_name, packed.digest));
        let shown = packed
            .path
            .strip_prefix(&cwd)
            .unwrap_or(&packed.path)
            .display()
            .to_string();
        printer.result(&format!("Packed {shown}"));
    }
    Ok(())
}

/// `SOURCE_DATE_EPOCH` as seconds (unset or empty = 0).
fn source_date_epoch() -> Result<u64, Error> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
            Error::Setting(format!(
                "SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01, not {v:?}"
            ))
        }),
        _ => Ok(0),
    }
}

/// Base-image settings from the command line.
struct BaseArgs {
    pull: PullOptions,
    insecure: bool,
}

impl BaseArgs {
    fn from_args(args: &PackArgs) -> Result<BaseArgs, Error> {
        let digest = match args.base_digest.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Some(Digest::parse(d).map_err(|e| {
                Error::Usage(format!(
                    "invalid --base-digest {d:?}: {e}\n  hint: give the base image's manifest digest, `sha256:` and 64 hex digits"
                ))
            })?),
            _ => None,
        };
        Ok(BaseArgs {
            pull: PullOptions {
                mirror: args.base_mirror.clone().filter(|m| !m.trim().is_empty()),
                digest,
            },
            insecure: args.insecure,
        })
    }
}

/// Pulls the base image for every architecture the build plan targets (none for `bare`).
fn pull_bases(
    project: &project::Project,
    opts: &PackOptions,
    args: &BaseArgs,
    printer: &Printer,
) -> Result<Vec<ResolvedBase>, Error> {
    if project.base.is_bare() {
        return Ok(Vec::new());
    }
    let mut arches: Vec<&str> = build_plan(project, opts)?
        .iter()
        .map(|(_, p)| p.build_for.as_str())
        .collect();
    arches.sort_unstable();
    arches.dedup();
    let cache = BlobCache::open_default()?;
    let log: Option<crate::registry::Logger> = printer.is_verbose().then(|| {
        let p = printer.clone();
        std::sync::Arc::new(move |line: &str| p.detail(line)) as crate::registry::Logger
    });
    let warn = printer.clone();
    let client = Client::new(ClientOptions {
        insecure: args.insecure,
        log,
        warn: Some(std::sync::Arc::new(move |line: &str| warn.warn(line))),
        ..ClientOptions::default()
    })?;
    let mut bases = Vec::new();
    for arch in arches {
        let image = pull_base(&project.base, arch, &args.pull, &client, &cache, printer)?;
        printer.detail(&format!(
            "base image {} {}",
            image.reference, image.manifest_digest
        ));
        bases.push(ResolvedBase::prepare(&cache, image)?);
    }
    Ok(bases)
}

/// The worker-server to bundle, or `None` with a warning saying why and how to fix it.
fn worker_server(printer: &Printer) -> Option<std::path::PathBuf> {
    use crate::pack::worker::{BUILD_HINT, Located, locate};
    match locate() {
        Located::Found(path) => {
            printer.detail(&format!("worker-server: {}", path.display()));
            Some(path)
        }
        Located::Dynamic(path) => {
            printer.warn(&format!(
                "Warning: `{}` is dynamically linked and would not run on a bare image, so it is not bundled\n  hint: {BUILD_HINT}",
                path.display()
            ));
            None
        }
        Located::Missing(path) => {
            printer.warn(&format!(
                "Warning: RCRAFT_WORKER_SERVER names `{}`, which is not an executable\n  hint: {BUILD_HINT}",
                path.display()
            ));
            None
        }
        Located::NotFound => {
            printer.warn(&format!(
                "Warning: no worker-server found next to rcraft, so the image has no service manager\n  hint: {BUILD_HINT}"
            ));
            None
        }
    }
}
