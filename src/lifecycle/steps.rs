//! [`Lifecycle`]: one run of the parts lifecycle, holding each part's state and running its
//! steps (one function per [`Step`]), the stage-conflict check and `craftctl` requests.
//!
//! Steps run step by step across parts, in part order (all pulls, then all builds, ...), as in
//! craft-parts; before a part builds or stages, the parts it is `after` are staged, and before
//! it primes they are primed. Each step runs its `override-<step>` script if the part has one,
//! else its default action (which the script can run with `craftctl default`).
//!
//! A step whose inputs are unchanged since it last completed is skipped (see
//! [`super::state`]); a part that is redone first takes its old files out of `stage/` and
//! `prime/`.

use std::collections::BTreeSet;

use sha2::Digest as _;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::progress::Progress;
use crate::project::{Part, Project};

use super::craftctl;
use super::dirs::{PartDirs, WorkDirs};
use super::filters::{self, Fileset};
use super::permissions::{self, Permissions};
use super::plugins::BuildInputs;
use super::plugins::{self, BuildContext, CommandRunner, Plugin};
use super::scripts::{self, Script};
use super::state::{self, Hasher, PartState, StateDir};
use super::{LifecycleError, LifecycleOptions, Outcome, PrimedFile, PrimedPart, Step, StepError};
use crate::fsops::{self, CopyMode, Snapshot};

/// Tells which paths of a local source the pull leaves out.
type SourceFilter = Box<dyn Fn(&Path) -> bool>;

/// Keys `craftctl set` and `craftctl get` accept.
const PROJECT_VARS: [&str; 5] = ["version", "summary", "description", "title", "grade"];

/// A lifecycle run in progress.
pub struct Lifecycle<'a> {
    project: &'a Project,
    opts: &'a LifecycleOptions,
    progress: &'a dyn Progress,
    work: WorkDirs,
    /// The parts, in lifecycle order.
    parts: Vec<PartRun<'a>>,
    /// The last step each part completed.
    done: Vec<Option<Step>>,
    adopted: Vec<(String, String)>,
    /// The parts staged so far, with the paths their stage filter selected.
    staged: Vec<(usize, BTreeSet<String>)>,
    primed: Vec<PrimedPart>,
    /// Where part states are kept.
    state_dir: StateDir,
    /// Each part's recorded state (updated as steps complete).
    states: Vec<PartState>,
    /// Each part's input hash per step (indexed like [`Step::ALL`]).
    hashes: Vec<[String; 4]>,
    /// Each part's `stage-packages` key: what its unpacked packages depend on.
    package_keys: Vec<String>,
    /// Whether each part's step can be skipped.
    clean: Vec<[bool; 4]>,
}

/// One part and what the lifecycle derived from it.
struct PartRun<'a> {
    name: &'a str,
    spec: &'a Part,
    plugin: Box<dyn Plugin>,
    /// The local source directory, if any.
    source: Option<PathBuf>,
    dirs: PartDirs,
    stage: Fileset,
    prime: Fileset,
    permissions: Permissions,
    /// Indices (into `parts`) of the parts this one is after.
    deps: Vec<usize>,
}

impl<'a> Lifecycle<'a> {
    /// Prepares a run with the parts in `order` (indices into `project.parts`), checking
    /// everything that can be checked before any work: plugins, sources, `source-subdir`,
    /// `permissions`.
    pub fn new(
        project: &'a Project,
        opts: &'a LifecycleOptions,
        order: &[usize],
        progress: &'a dyn Progress,
    ) -> Result<Lifecycle<'a>, LifecycleError> {
        // Scripts run in other directories, so every path they see must be absolute.
        let root =
            std::path::absolute(&opts.work_dir).map_err(|source| LifecycleError::WorkDir {
                path: opts.work_dir.clone(),
                source,
            })?;
        let work = WorkDirs::new(&root);
        let mut parts = Vec::with_capacity(order.len());
        for &i in order {
            let (name, spec) = &project.parts[i];
            let step_err = |step, source| LifecycleError::Step {
                part: name.clone(),
                step,
                source,
            };
            let plugin_name = spec.plugin.as_deref().unwrap_or(if spec.source.is_some() {
                "dump"
            } else {
                "nil"
            });
            let plugin =
                plugins::lookup(plugin_name).ok_or_else(|| LifecycleError::UnsupportedPlugin {
                    part: name.clone(),
                    plugin: plugin_name.to_string(),
                })?;
            let source = resolve_source(project, spec).map_err(|e| step_err(Step::Pull, e))?;
            let subdir = check_subdir(spec).map_err(|e| step_err(Step::Build, e))?;
            let permissions =
                Permissions::new(&spec.permissions).map_err(|e| step_err(Step::Build, e))?;
            parts.push(PartRun {
                name,
                spec,
                plugin,
                source,
                dirs: work.part(name, subdir.as_deref()),
                stage: Fileset::new(&spec.stage),
                prime: Fileset::new(&spec.prime),
                permissions,
                deps: Vec::new(),
            });
        }
        let position = |name: &str| parts.iter().position(|p| p.name == name);
        let deps: Vec<Vec<usize>> = parts
            .iter()
            .map(|p| p.spec.after.iter().filter_map(|a| position(a)).collect())
            .collect();
        for (p, d) in parts.iter_mut().zip(deps) {
            p.deps = d;
        }
        let state_dir = StateDir::new(&work.root);
        let states = parts.iter().map(|p| state_dir.load(p.name)).collect();
        Ok(Lifecycle {
            project,
            opts,
            progress,
            work,
            done: vec![None; parts.len()],
            adopted: Vec::new(),
            staged: Vec::new(),
            primed: Vec::new(),
            state_dir,
            states,
            hashes: Vec::new(),
            package_keys: Vec::new(),
            clean: Vec::new(),
            parts,
        })
    }

    /// Runs every step of every part.
    pub fn run(self) -> Result<Outcome, LifecycleError> {
        self.run_to(Step::Prime, None)
    }

    /// Runs the steps up to `target` for the parts in `only` (indices into the lifecycle
    /// order; `None` = all), and what they need of the parts they are `after`.
    pub fn run_to(
        mut self,
        target: Step,
        only: Option<&[usize]>,
    ) -> Result<Outcome, LifecycleError> {
        let work_err = |source| LifecycleError::WorkDir {
            path: self.work.root.clone(),
            source,
        };
        self.work.prepare().map_err(work_err)?;
        craftctl::install_shim(&self.work.bin).map_err(work_err)?;
        self.plan()?;
        let selected: Vec<usize> = match only {
            Some(only) => only.to_vec(),
            None => (0..self.parts.len()).collect(),
        };
        for step in Step::ALL.into_iter().filter(|s| *s <= target) {
            for &i in &selected {
                self.ensure(i, step)?;
            }
        }
        // A later part's override-prime may have removed what an earlier part primed.
        let prime = self.work.prime.clone();
        for part in &mut self.primed {
            part.files
                .retain(|f| prime.join(&f.path).symlink_metadata().is_ok());
        }
        Ok(Outcome {
            prime_dir: self.work.prime.clone(),
            parts: self.primed,
            adopted: self.adopted,
        })
    }

    /// Runs `step` of part `i` unless done, after its earlier steps and what its dependencies
    /// must have done first.
    fn ensure(&mut self, i: usize, step: Step) -> Result<(), LifecycleError> {
        if self.done[i].is_some_and(|d| d >= step) {
            return Ok(());
        }
        if let Some(prev) = step.previous() {
            self.ensure(i, prev)?;
        }
        let needed = match step {
            Step::Pull => None,
            Step::Build | Step::Stage => Some(Step::Stage),
            Step::Prime => Some(Step::Prime),
        };
        if let Some(needed) = needed {
            for d in self.parts[i].deps.clone() {
                self.ensure(d, needed)?;
            }
        }
        let k = step_index(step);
        if self.clean[i][k] {
            self.skip(i, step);
            self.done[i] = Some(step);
            return Ok(());
        }
        self.log(&format!("{} {}", step_verb(step), self.parts[i].name));
        let keep = self.clean[i];
        self.states[i].invalidate(step, |s| keep[step_index(s)]);
        self.save_state(i)?;
        if step == Step::Stage {
            self.check_stage_conflicts(i)?;
        }
        let result = match step {
            Step::Pull => self.pull(i),
            Step::Build => self.build(i),
            Step::Stage => self.run_step_script(i, Step::Stage),
            Step::Prime => self.prime(i),
        };
        result.map_err(|source| LifecycleError::Step {
            part: self.parts[i].name.to_string(),
            step,
            source,
        })?;
        self.record(i, step);
        self.save_state(i)?;
        self.done[i] = Some(step);
        Ok(())
    }

    /// Computes every part's step hashes (parts are in dependency order, so the hashes of the
    /// parts a part is after are known), decides which steps can be skipped, and takes the
    /// old files of parts to be restaged or reprimed out of `stage/` and `prime/`.
    fn plan(&mut self) -> Result<(), LifecycleError> {
        // Lock the parts' packages first: the hashes below cover the lock file, which must
        // not change under them when a first pull writes it.
        if let Some(ctx) = &self.opts.packages {
            for (i, part) in self.parts.iter().enumerate() {
                crate::debs::lock_packages(ctx, &self.stage_request(i)).map_err(|e| {
                    LifecycleError::Step {
                        part: part.name.to_string(),
                        step: Step::Pull,
                        source: e.into(),
                    }
                })?;
            }
        }
        let opts = {
            let mut o = self.opts.clone();
            o.verbose = false;
            o.parallel_build_count = 0;
            // The packages context holds shared archive state; hash only its settings, and
            // the lock file's bytes (a changed lock re-pulls).
            let packages = o.packages.take().map(|p| {
                let lock = p
                    .lock_path
                    .as_ref()
                    .and_then(|l| fs::read(l).ok())
                    .map(|b| hex::encode(sha2::Sha256::digest(b)))
                    .unwrap_or_default();
                // Not `update`: the lock (re-resolved above when it is set) says what changed.
                format!(
                    "{:?} {:?} {:?} {lock}",
                    p.debian_mirror, p.ubuntu_mirror, p.base_rootfs
                )
            });
            format!("{o:?} packages {packages:?}")
        };
        let identity = format!(
            "{}\0{}\0{}",
            self.project.name,
            self.project.version,
            self.project.adopt_info.as_deref().unwrap_or("")
        );
        for i in 0..self.parts.len() {
            let part = &self.parts[i];
            let source = match &part.source {
                Some(src) if src.is_dir() => {
                    let skip =
                        self.source_filter(i, src)
                            .map_err(|source| LifecycleError::Step {
                                part: part.name.to_string(),
                                step: Step::Pull,
                                source,
                            })?;
                    state::fingerprint_tree(src, &skip)
                        .unwrap_or_else(|e| format!("unreadable: {e}"))
                }
                Some(src) => format!("{}", src.display()),
                None => String::new(),
            };
            let dep_hash = |k: usize| -> String {
                part.deps
                    .iter()
                    .map(|&d| self.hashes[d][k].as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let build_inputs = match self.build_inputs(i) {
                None => source.clone(),
                Some(files) => files
                    .iter()
                    .map(|f| format!("{} {}\n", f.display(), state::fingerprint_path(f)))
                    .collect(),
            };
            let part_hash = |step| {
                let mut h = Hasher::new(step);
                h.add("part", format!("{:?}", part.spec))
                    .add("name", part.name)
                    .add("project", &identity)
                    .add("options", &opts);
                h
            };
            let pull = part_hash(Step::Pull).add("source", source).finish();
            // The build hash does not include the pull's: a build whose inputs are unchanged
            // is kept when only other files of the source changed.
            let build = part_hash(Step::Build)
                .add("build-inputs", build_inputs)
                .add("deps", dep_hash(2))
                .finish();
            let stage = Hasher::new(Step::Stage).add("build", &build).finish();
            let prime = Hasher::new(Step::Prime)
                .add("stage", &stage)
                .add("deps", dep_hash(3))
                .finish();
            self.hashes.push([pull, build, stage, prime]);
            self.package_keys.push(
                Hasher::new(Step::Pull)
                    .add("stage-packages", format!("{:?}", part.spec.stage_packages))
                    .add("build-base", format!("{:?}", self.project.build_base))
                    .add("options", &opts)
                    .finish(),
            );
        }
        for i in 0..self.parts.len() {
            let dirs = &self.parts[i].dirs;
            let matches = |k: usize| self.states[i].hash(Step::ALL[k]) == Some(&self.hashes[i][k]);
            let pull = dirs.src.is_dir() && matches(0);
            // A build is kept over a redone pull when its own inputs did not change.
            let build = dirs.install.is_dir() && matches(1);
            let stage = build && matches(2);
            let prime = stage && matches(3);
            self.clean.push([pull, build, stage, prime]);
        }
        // Files of parts that will be restaged/reprimed go, unless a part that stays put
        // has the same path.
        let keep_staged: BTreeSet<String> = (0..self.parts.len())
            .filter(|&i| self.clean[i][2])
            .flat_map(|i| self.states[i].staged.iter().cloned())
            .collect();
        let keep_primed: BTreeSet<String> = (0..self.parts.len())
            .filter(|&i| self.clean[i][3])
            .flat_map(|i| self.states[i].primed.iter().map(|p| p.path.clone()))
            .collect();
        for i in 0..self.parts.len() {
            let to_remove = |paths: Vec<String>, keep: &BTreeSet<String>| -> Vec<String> {
                paths.into_iter().filter(|p| !keep.contains(p)).collect()
            };
            if !self.clean[i][2] {
                let stale = to_remove(self.states[i].staged.clone(), &keep_staged);
                remove_paths(&self.work.stage, stale).map_err(|source| {
                    LifecycleError::WorkDir {
                        path: self.work.stage.clone(),
                        source,
                    }
                })?;
            }
            if !self.clean[i][3] {
                let stale = to_remove(
                    self.states[i]
                        .primed
                        .iter()
                        .map(|p| p.path.clone())
                        .collect(),
                    &keep_primed,
                );
                remove_paths(&self.work.prime, stale).map_err(|source| {
                    LifecycleError::WorkDir {
                        path: self.work.prime.clone(),
                        source,
                    }
                })?;
            }
            // What clean parts staged is known before any part stages: a restaged part is
            // checked for conflicts against all of them.
            if self.clean[i][2] {
                let set = self.states[i].staged.iter().cloned().collect();
                self.staged.push((i, set));
            }
        }
        if let Some(info) = &self.project.adopt_info
            && let Some(i) = self.parts.iter().position(|p| p.name == info)
            && self.clean[i][3]
        {
            self.adopted = self.states[i].adopted.clone();
        }
        Ok(())
    }

    /// The files part `i`'s build reads of its source, when the plugin narrows them down (see
    /// [`BuildInputs`]) and the source is a local directory pulled and built by default;
    /// `None` for the whole source.
    fn build_inputs(&self, i: usize) -> Option<Vec<PathBuf>> {
        let part = &self.parts[i];
        let source = part.source.as_ref().filter(|s| s.is_dir())?;
        if part.spec.override_pull.is_some() || part.spec.override_build.is_some() {
            return None;
        }
        let root = match &part.spec.source_subdir {
            Some(sub) => source.join(sub),
            None => source.clone(),
        };
        match part.plugin.build_inputs(part.spec, &root) {
            BuildInputs::WholeSource => None,
            BuildInputs::Files(files) => Some(files.iter().map(|f| root.join(f)).collect()),
        }
    }

    /// Marks a skipped step done, restoring what it recorded.
    fn skip(&mut self, i: usize, step: Step) {
        self.log(&format!(
            "Skipping {step} for {} (already ran)",
            self.parts[i].name
        ));
        if step == Step::Prime {
            self.primed.push(PrimedPart {
                name: self.parts[i].name.to_string(),
                files: self.states[i].primed.iter().map(PrimedFile::from).collect(),
            });
        }
    }

    /// Records a completed step's hash (and what it staged or primed) in the part's state.
    fn record(&mut self, i: usize, step: Step) {
        let k = step_index(step);
        let hash = self.hashes[i][k].clone();
        let state = &mut self.states[i];
        state.steps.insert(step.name().to_string(), hash);
        match step {
            Step::Stage => {
                if let Some((_, set)) = self.staged.iter().rev().find(|(j, _)| *j == i) {
                    state.staged = set.iter().cloned().collect();
                }
            }
            Step::Prime => {
                if let Some(p) = self
                    .primed
                    .iter()
                    .rev()
                    .find(|p| p.name == self.parts[i].name)
                {
                    state.primed = p.files.iter().map(Into::into).collect();
                }
            }
            _ => {}
        }
        if self.project.adopt_info.as_deref() == Some(self.parts[i].name) {
            state.adopted = self.adopted.clone();
        }
    }

    fn save_state(&self, i: usize) -> Result<(), LifecycleError> {
        self.state_dir
            .save(self.parts[i].name, &self.states[i])
            .map_err(|source| LifecycleError::WorkDir {
                path: self.work.root.join("state"),
                source,
            })
    }

    fn log(&self, line: &str) {
        self.progress.info(line);
    }

    /// Pull: an empty `src/`, the part's `stage-packages` unpacked into `stage_packages/`,
    /// then the override or the default (copy the local source).
    fn pull(&mut self, i: usize) -> Result<(), StepError> {
        let src = &self.parts[i].dirs.src;
        fsops::remove_tree(src).map_err(|e| StepError::io("remove", src, e))?;
        fs::create_dir_all(src).map_err(|e| StepError::io("create directory", src, e))?;
        self.pull_packages(i)?;
        self.run_step_script(i, Step::Pull)
    }

    /// What part `i` asks of [`crate::debs`]: its `stage-packages`, unpacked into its
    /// `stage_packages/` dir.
    fn stage_request(&self, i: usize) -> crate::debs::StageRequest<'_> {
        let part = &self.parts[i];
        crate::debs::StageRequest {
            part: part.name,
            packages: &part.spec.stage_packages,
            build_base: &self.project.build_base,
            arch: &self.opts.build_for,
            dest: &part.dirs.packages,
        }
    }

    /// Resolves, downloads and unpacks the part's `stage-packages` (see [`crate::debs`]).
    fn pull_packages(&self, i: usize) -> Result<(), StepError> {
        let part = &self.parts[i];
        let dest = &part.dirs.packages;
        // The packages unpacked by an earlier pull are kept when nothing they depend on
        // changed (a pull redone for an edited source does not unpack them again).
        let marker = dest.with_extension("key");
        let key = &self.package_keys[i];
        if dest.is_dir() && fs::read_to_string(&marker).is_ok_and(|k| k == *key) {
            self.log(&format!(
                "Reusing the unpacked stage-packages of {}",
                part.name
            ));
            return Ok(());
        }
        fsops::remove_tree(&marker).map_err(|e| StepError::io("remove", &marker, e))?;
        fsops::remove_tree(dest).map_err(|e| StepError::io("remove", dest, e))?;
        if part.spec.stage_packages.is_empty() {
            return Ok(());
        }
        let ctx = self.opts.packages.as_ref().ok_or(StepError::NoPackages)?;
        crate::debs::stage_packages(ctx, &self.stage_request(i))?;
        fs::write(&marker, key).map_err(|e| StepError::io("write", &marker, e))?;
        Ok(())
    }

    /// Build: `src/` copied to `build/`, an empty `install/`, the override or the plugin's
    /// build, then `organize` and `permissions` modes in `install/`.
    fn build(&mut self, i: usize) -> Result<(), StepError> {
        let dirs = self.parts[i].dirs.clone();
        for dir in [&dirs.build, &dirs.install] {
            fsops::remove_tree(dir).map_err(|e| StepError::io("remove", dir, e))?;
        }
        fsops::copy_tree(&dirs.src, &dirs.build, CopyMode::Link, &|_| false)?;
        fs::create_dir_all(&dirs.install)
            .map_err(|e| StepError::io("create directory", &dirs.install, e))?;
        if dirs.packages.is_dir() {
            fsops::copy_tree(&dirs.packages, &dirs.install, CopyMode::Copy, &|_| false)?;
        }
        if !dirs.build_work.is_dir() {
            return Err(StepError::BadValue {
                key: "source-subdir",
                value: self.parts[i].spec.source_subdir.clone().unwrap_or_default(),
                reason: "no such directory in the source".to_string(),
            });
        }
        self.run_step_script(i, Step::Build)?;
        let part = &self.parts[i];
        filters::organize(&dirs.install, &part.spec.organize)?;
        part.permissions.apply_modes(&dirs.install)
    }

    /// Prime: the override or the default, then records what the part added to `prime/`.
    fn prime(&mut self, i: usize) -> Result<(), StepError> {
        let before = Snapshot::take(&self.work.prime)?;
        self.run_step_script(i, Step::Prime)?;
        let after = Snapshot::take(&self.work.prime)?;
        let part = &self.parts[i];
        let files = after
            .changed_since(&before)
            .into_iter()
            .map(|path| {
                let attrs = part.permissions.for_path(&path).unwrap_or_default();
                PrimedFile {
                    path,
                    owner: attrs.owner,
                    group: attrs.group,
                    mode: attrs.mode,
                }
            })
            .collect();
        self.primed.push(PrimedPart {
            name: part.name.to_string(),
            files,
        });
        Ok(())
    }

    /// Fails if part `i` would stage a path that an already staged part staged with different
    /// contents or permissions.
    fn check_stage_conflicts(&mut self, i: usize) -> Result<(), LifecycleError> {
        let part = &self.parts[i];
        let (files, dirs) = part.stage.select(&part.dirs.install);
        let contents: BTreeSet<String> = files.into_iter().chain(dirs).collect();
        for (j, other_contents) in &self.staged {
            let other = &self.parts[*j];
            let mut paths = Vec::new();
            for path in contents.intersection(other_contents) {
                let collide = fsops::paths_collide(
                    &part.dirs.install.join(path),
                    &other.dirs.install.join(path),
                )
                .map_err(|source| LifecycleError::Step {
                    part: part.name.to_string(),
                    step: Step::Stage,
                    source: source.into(),
                })?;
                if collide
                    || permissions::conflict(
                        part.permissions.for_path(path),
                        other.permissions.for_path(path),
                    )
                {
                    paths.push(path.clone());
                }
            }
            if !paths.is_empty() {
                return Err(LifecycleError::StageConflict {
                    part: part.name.to_string(),
                    other_part: other.name.to_string(),
                    paths,
                });
            }
        }
        self.staged.push((i, contents));
        Ok(())
    }

    /// Runs the part's `override-<step>` script, or the default action when there is none.
    fn run_step_script(&mut self, i: usize, step: Step) -> Result<(), StepError> {
        let spec: &'a Part = self.parts[i].spec;
        let body = match step {
            Step::Pull => spec.override_pull.as_deref(),
            Step::Build => spec.override_build.as_deref(),
            Step::Stage => spec.override_stage.as_deref(),
            Step::Prime => spec.override_prime.as_deref(),
        };
        let Some(body) = body else {
            return self.default_action(i, step);
        };
        let env = self.environment(i, step);
        let expanded = self.expanded_environment(i, step);
        let dirs = &self.parts[i].dirs;
        let cwd = match step {
            Step::Pull => dirs.src.clone(),
            Step::Build => dirs.build_work.clone(),
            Step::Stage => self.work.stage.clone(),
            Step::Prime => self.work.prime.clone(),
        };
        let run_dir = dirs.run.clone();
        let name = format!("override-{step}");
        let script = Script {
            name: &name,
            body,
            cwd: &cwd,
            run_dir: &run_dir,
            env: &env,
            expanded_env: &expanded,
            verbose: self.opts.verbose,
        };
        script.run(&mut |args| self.craftctl(i, step, args))
    }

    /// What `step` does for part `i` without an override (and on `craftctl default`).
    fn default_action(&self, i: usize, step: Step) -> Result<(), StepError> {
        let part = &self.parts[i];
        match step {
            Step::Pull => match &part.source {
                Some(source) => self.pull_local(i, source),
                None => Ok(()),
            },
            Step::Build => {
                let runner = PluginRunner {
                    env: self.environment(i, Step::Build),
                    expanded: self.expanded_environment(i, Step::Build),
                    cwd: part.dirs.build_work.clone(),
                    run_dir: part.dirs.run.clone(),
                    verbose: self.opts.verbose,
                };
                part.plugin.build(&BuildContext {
                    part_name: part.name,
                    part: part.spec,
                    build_work_dir: &part.dirs.build_work,
                    install_dir: &part.dirs.install,
                    runner: &runner,
                    stage_dir: &self.work.stage,
                    run_dir: &part.dirs.run,
                    base_rootfs: self.opts.base_rootfs.as_deref(),
                    bare: self.project.base.is_bare(),
                    build_for: &self.opts.build_for,
                    build_on: &self.opts.build_on,
                    parallel_build_count: self.opts.parallel_build_count.max(1),
                })
            }
            Step::Stage => {
                let (files, dirs) = part.stage.select(&part.dirs.install);
                Ok(fsops::migrate(
                    &files,
                    &dirs,
                    &part.dirs.install,
                    &self.work.stage,
                )?)
            }
            Step::Prime => {
                let fileset = Fileset::for_prime(&part.prime, &part.stage);
                let (files, dirs) = fileset.select(&part.dirs.install);
                Ok(fsops::migrate(
                    &files,
                    &dirs,
                    &self.work.stage,
                    &self.work.prime,
                )?)
            }
        }
    }

    /// Copies a local source directory into `src/`. When the source holds the work dir (the
    /// usual `source: .`), the work dir, `*.rock` files and top-level `parts/`, `stage/`,
    /// `prime/` are left out, as craft-parts does.
    fn pull_local(&self, i: usize, source: &Path) -> Result<(), StepError> {
        let filter = self.source_filter(i, source)?;
        let source = source
            .canonicalize()
            .map_err(|e| StepError::io("read", source, e))?;
        Ok(fsops::copy_tree(
            &source,
            &self.parts[i].dirs.src,
            CopyMode::Copy,
            &filter,
        )?)
    }

    /// What a local pull leaves out of `source` (see [`Lifecycle::pull_local`]).
    fn source_filter(&self, i: usize, source: &Path) -> Result<SourceFilter, StepError> {
        let source = source
            .canonicalize()
            .map_err(|e| StepError::io("read", source, e))?;
        let work = self
            .work
            .root
            .canonicalize()
            .map_err(|e| StepError::io("read", &self.work.root, e))?;
        let project_dir = self
            .project
            .project_dir
            .canonicalize()
            .unwrap_or_else(|_| self.project.project_dir.clone());
        if source.starts_with(&work) || work == source {
            return Err(StepError::BadValue {
                key: "source",
                value: self.parts[i].spec.source.clone().unwrap_or_default(),
                reason: "the source is inside rcraft's work directory".to_string(),
            });
        }
        let mut skip: Vec<PathBuf> = Vec::new();
        let mut skip_rocks = false;
        if let Ok(rel) = work.strip_prefix(&source) {
            if let Some(Component::Normal(first)) = rel.components().next() {
                skip.push(source.join(first));
            }
        }
        if source == project_dir || !skip.is_empty() {
            skip_rocks = true;
            for name in [".rcraft", "parts", "stage", "prime"] {
                skip.push(source.join(name));
            }
        }
        Ok(Box::new(move |p: &Path| {
            skip.iter().any(|s| s == p)
                || (skip_rocks
                    && p.extension().is_some_and(|e| e == "rock")
                    && !p.symlink_metadata().is_ok_and(|m| m.is_dir()))
        }))
    }

    /// Answers one `craftctl` call made by part `i`'s script for `step`.
    fn craftctl(&mut self, i: usize, step: Step, args: &[String]) -> Result<String, StepError> {
        let fail = |msg: String| Err(StepError::Craftctl(msg));
        let Some((command, rest)) = args.split_first() else {
            return fail("craftctl: missing command (default, set or get)".to_string());
        };
        match command.as_str() {
            "default" => {
                if !rest.is_empty() {
                    return fail("'craftctl default' takes no arguments".to_string());
                }
                self.default_action(i, step)?;
                Ok(String::new())
            }
            "set" => {
                let name = self.parts[i].name;
                match self.project.adopt_info.as_deref() {
                    Some(adopter) if adopter == name => {}
                    Some(adopter) => {
                        return fail(format!(
                            "'craftctl set' not allowed for part '{name}': only the \
                             'adopt-info' part ('{adopter}') can set values"
                        ));
                    }
                    None => {
                        return fail(format!(
                            "'craftctl set' not allowed for part '{name}': the project has no \
                             'adopt-info'"
                        ));
                    }
                }
                if rest.is_empty() {
                    return fail("'craftctl set' needs key=value".to_string());
                }
                for arg in rest {
                    let Some((key, value)) = arg.split_once('=') else {
                        return fail(format!("'craftctl set' needs key=value, not '{arg}'"));
                    };
                    check_var(key)?;
                    match self.adopted.iter_mut().find(|(k, _)| k == key) {
                        Some(slot) => slot.1 = value.to_string(),
                        None => self.adopted.push((key.to_string(), value.to_string())),
                    }
                }
                Ok(String::new())
            }
            "get" => {
                let [key] = rest else {
                    return fail("'craftctl get' needs exactly one key".to_string());
                };
                check_var(key)?;
                Ok(self.project_var(key))
            }
            other => fail(format!(
                "craftctl: unknown command '{other}' (use default, set or get)"
            )),
        }
    }

    /// The current value of a project variable: adopted, else from the project.
    fn project_var(&self, key: &str) -> String {
        if let Some((_, v)) = self.adopted.iter().find(|(k, _)| k == key) {
            return v.clone();
        }
        match key {
            "version" => self.project.version.clone(),
            "summary" => self.project.summary.clone(),
            "description" => self.project.description.clone(),
            "title" => self.project.title.clone(),
            _ => String::new(),
        }
    }

    /// The `CRAFT_*` variables and `PATH` of part `i`'s scripts for `step`.
    fn environment(&self, i: usize, step: Step) -> Vec<(String, String)> {
        let part = &self.parts[i];
        let d = &part.dirs;
        let path_str = |p: &Path| p.to_string_lossy().into_owned();
        let mut path = vec![path_str(&self.work.bin)];
        for root in [&d.install, &self.work.stage] {
            for sub in ["usr/sbin", "usr/bin", "sbin", "bin"] {
                path.push(path_str(&root.join(sub)));
            }
        }
        if let Some(host) = std::env::var_os("PATH") {
            path.push(host.to_string_lossy().into_owned());
        }
        let opts = self.opts;
        let vars: Vec<(&str, String)> = vec![
            ("CRAFT_ARCH_BUILD_FOR", opts.build_for.clone()),
            ("CRAFT_ARCH_BUILD_ON", opts.build_on.clone()),
            (
                "CRAFT_ARCH_TRIPLET_BUILD_FOR",
                scripts::arch_triplet(&opts.build_for),
            ),
            (
                "CRAFT_ARCH_TRIPLET_BUILD_ON",
                scripts::arch_triplet(&opts.build_on),
            ),
            ("CRAFT_TARGET_ARCH", opts.build_for.clone()),
            (
                "CRAFT_PARALLEL_BUILD_COUNT",
                opts.parallel_build_count.max(1).to_string(),
            ),
            ("CRAFT_PROJECT_NAME", self.project.name.clone()),
            ("CRAFT_PROJECT_VERSION", self.project_var("version")),
            (
                "CRAFT_PROJECT_DIR",
                path_str(
                    &std::path::absolute(&self.project.project_dir)
                        .unwrap_or_else(|_| self.project.project_dir.clone()),
                ),
            ),
            ("CRAFT_STEP_NAME", step.name().to_uppercase()),
            ("CRAFT_PART_NAME", part.name.to_string()),
            ("CRAFT_PART_SRC", path_str(&d.src)),
            ("CRAFT_PART_SRC_WORK", path_str(&d.src_work)),
            ("CRAFT_PART_BUILD", path_str(&d.build)),
            ("CRAFT_PART_BUILD_WORK", path_str(&d.build_work)),
            ("CRAFT_PART_INSTALL", path_str(&d.install)),
            ("CRAFT_STAGE", path_str(&self.work.stage)),
            ("CRAFT_PRIME", path_str(&self.work.prime)),
            ("PATH", path.join(":")),
        ];
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The part's `build-environment` (build step only), exported after [`Self::environment`]
    /// so values can refer to it.
    fn expanded_environment(&self, i: usize, step: Step) -> Vec<(String, String)> {
        if step == Step::Build {
            self.parts[i].spec.build_environment.clone()
        } else {
            Vec::new()
        }
    }
}

/// Runs a plugin's commands as a script in the build environment (no `craftctl`).
struct PluginRunner {
    env: Vec<(String, String)>,
    expanded: Vec<(String, String)>,
    cwd: PathBuf,
    run_dir: PathBuf,
    verbose: bool,
}

impl CommandRunner for PluginRunner {
    fn run(&self, label: &str, commands: &str) -> Result<(), StepError> {
        Script {
            name: label,
            body: commands,
            cwd: &self.cwd,
            run_dir: &self.run_dir,
            env: &self.env,
            expanded_env: &self.expanded,
            verbose: self.verbose,
        }
        .run(&mut |_| {
            Err(StepError::Craftctl(
                "craftctl is not available in plugin commands".to_string(),
            ))
        })
    }
}

fn check_var(key: &str) -> Result<(), StepError> {
    if PROJECT_VARS.contains(&key) {
        Ok(())
    } else {
        Err(StepError::Craftctl(format!(
            "craftctl: unknown key '{key}' (known: {})",
            PROJECT_VARS.join(", ")
        )))
    }
}

/// The part's local source directory; other kinds of source are not supported yet.
pub(super) fn resolve_source(project: &Project, spec: &Part) -> Result<Option<PathBuf>, StepError> {
    let Some(source) = spec.source.as_deref() else {
        return Ok(None);
    };
    let unsupported = |kind: &str| StepError::UnsupportedSource {
        source_: source.to_string(),
        kind: kind.to_string(),
    };
    if let Some(kind) = spec.source_type.as_deref() {
        if kind != "local" {
            return Err(unsupported(kind));
        }
    }
    if source.contains("://") || source.starts_with("git@") || source.starts_with("lp:") {
        return Err(unsupported(if source.ends_with(".git") {
            "git"
        } else {
            "remote"
        }));
    }
    let path = if Path::new(source).is_absolute() {
        PathBuf::from(source)
    } else {
        project.project_dir.join(source)
    };
    if path.is_dir() {
        return Ok(Some(path));
    }
    let lower = source.to_ascii_lowercase();
    let kind = if lower.ends_with(".git") {
        Some("git")
    } else if [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".zip",
        ".7z",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
    {
        Some("archive")
    } else if lower.ends_with(".deb") {
        Some("deb")
    } else if lower.ends_with(".rpm") {
        Some("rpm")
    } else if lower.ends_with(".snap") {
        Some("snap")
    } else {
        None
    };
    match (kind, path.symlink_metadata().is_ok()) {
        (Some(kind), _) => Err(unsupported(kind)),
        (None, true) => Err(unsupported("single-file")),
        (None, false) => Err(StepError::MissingSource {
            source_: source.to_string(),
            path,
        }),
    }
}

/// The part's `source-subdir`, checked to stay inside the source.
fn check_subdir(spec: &Part) -> Result<Option<String>, StepError> {
    let Some(sub) = spec.source_subdir.as_deref() else {
        return Ok(None);
    };
    let path = Path::new(sub);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
    {
        return Err(StepError::BadValue {
            key: "source-subdir",
            value: sub.to_string(),
            reason: "must be a relative path inside the source".to_string(),
        });
    }
    let sub = sub.trim_end_matches('/');
    Ok((!sub.is_empty() && sub != ".").then(|| sub.to_string()))
}

fn step_index(step: Step) -> usize {
    match step {
        Step::Pull => 0,
        Step::Build => 1,
        Step::Stage => 2,
        Step::Prime => 3,
    }
}

/// craft-parts' progress words.
fn step_verb(step: Step) -> &'static str {
    match step {
        Step::Pull => "Pulling",
        Step::Build => "Building",
        Step::Stage => "Staging",
        Step::Prime => "Priming",
    }
}

/// Removes `paths` (relative to `root`): files and links first, then directories that are
/// left empty, deepest first. Missing paths are fine.
pub(super) fn remove_paths(root: &Path, mut paths: Vec<String>) -> std::io::Result<()> {
    paths.sort_by(|a, b| b.cmp(a));
    for rel in paths {
        let path = root.join(&rel);
        match path.symlink_metadata() {
            Ok(m) if m.is_dir() => {
                if fs::read_dir(&path)?.next().is_none() {
                    fs::remove_dir(&path)?;
                }
            }
            Ok(_) => fs::remove_file(&path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
