//! `rcraft pull|build|stage|prime|clean [PART...]`: the lifecycle steps on their own, as in
//! Rockcraft, working in the same `.rcraft/work/<platform>` directory that `pack` uses (so a
//! `pack` afterwards skips what these already did).

use super::LifecycleArgs;
use super::printer::Printer;
use crate::error::Error;
use crate::lifecycle::{self, Step};
use crate::pack::{self, PackOptions};
use crate::progress::Progress;
use crate::project::{self, Platform, Project};

fn load(args: &LifecycleArgs) -> Result<Project, Error> {
    let dir = super::current_dir()?.join(&args.project_dir);
    let dir = dir.canonicalize().map_err(|source| Error::UserPath {
        action: "open project directory",
        path: dir.clone(),
        source,
    })?;
    Ok(project::load(&dir)?.project)
}

/// Options for the step commands: `--platform`, and the default package settings.
fn options(project: &Project, args: &LifecycleArgs) -> PackOptions {
    PackOptions {
        output_dir: project.project_dir.clone(),
        platform: args.platform.clone(),
        build_for: None,
        source_date_epoch: 0,
        archive_mirror: std::env::var("RCRAFT_ARCHIVE_MIRROR").ok(),
        update_lock: false,
        worker_server: None,
    }
}

/// The platforms to work on: `--platform`, else the first one this machine can build.
fn platforms<'p>(
    project: &'p Project,
    opts: &PackOptions,
) -> Result<Vec<&'p (String, Platform)>, Error> {
    let plan = pack::build_plan(project, opts)?;
    Ok(plan.into_iter().take(1).collect())
}

/// Runs the lifecycle up to `step`.
pub fn run(args: LifecycleArgs, step: Step, printer: &Printer) -> Result<(), Error> {
    let project = load(&args)?;
    let pack_opts = options(&project, &args);
    for (label, platform) in platforms(&project, &pack_opts)? {
        let task = printer.task(&format!("Running the parts lifecycle for {label}"), None);
        let opts = pack::lifecycle_options(
            &project,
            label,
            platform,
            &pack_opts,
            None,
            printer.is_verbose(),
        )?;
        let result = lifecycle::run_to(&project, &opts, step, &args.parts, printer);
        drop(task);
        result?;
        printer.result(&format!(
            "{} {}",
            match step {
                Step::Pull => "Pulled",
                Step::Build => "Built",
                Step::Stage => "Staged",
                Step::Prime => "Primed",
            },
            if args.parts.is_empty() {
                "all parts".to_string()
            } else {
                args.parts.join(", ")
            }
        ));
    }
    Ok(())
}

/// Removes the work files of the named parts (all when none are named).
pub fn clean(args: LifecycleArgs, printer: &Printer) -> Result<(), Error> {
    let project = load(&args)?;
    let all: Vec<String> = project.parts.iter().map(|(n, _)| n.clone()).collect();
    if let Some(unknown) = args.parts.iter().find(|p| !all.contains(p)) {
        return Err(lifecycle::LifecycleError::UnknownPart {
            part: unknown.clone(),
            known: all,
        }
        .into());
    }
    let labels: Vec<&str> = match &args.platform {
        Some(p) => vec![p.as_str()],
        None => project.platforms.iter().map(|(l, _)| l.as_str()).collect(),
    };
    for label in labels {
        lifecycle::clean::clean(&pack::work_dir(&project, label), &args.parts, &all)?;
    }
    printer.result(&if args.parts.is_empty() {
        "Cleaned all parts".to_string()
    } else {
        format!("Cleaned {}", args.parts.join(", "))
    });
    Ok(())
}
