//! The command line (`charlab`, whose `main` calls [`main`]): the top layer, beside
//! [`crate::reproduce`]. Every command reads its data from `--data`
//! (a `train.pkl`, an EMNIST folder, or nothing for the embedded default; `CHARLAB_DATA` when
//! the flag is absent) and takes `--seed` wherever randomness is used.
//!
//! Thin by design: the arguments (`args`) become a profile and a section's configuration,
//! the section runs, and main prints the text the section's `summary` function makes of its
//! results.

mod args;
mod configs;
mod device;

use std::process::ExitCode;
use std::time::Instant;

use crate::sections::{baselines, cnn, dataset, efficientnet, learning_curves, neural};
use crate::sections::{cnn_tuning, cv, levers, preprocessing, results};
use crate::{inference, paths, progress, reproduce, Profile, Result, Settings};
use args::{Cli, Command, CvArgs, DataArgs, FigureCommand, LeversArgs, LeversCommand, TrainArgs};
use args::{EfficientNetVariant, TuneArgs, TuneModel};
use args::{TrainModel, UnitStep};
use clap::Parser;

fn wrote_figure(png: crate::plot::Png) {
    if let Some(p) = png.path {
        println!("wrote {} (and .svg)", paths::relative(&p));
    }
}

/// `source (n images)`, how the commands name their data.
fn about(data: &crate::data::Dataset) -> String {
    format!("{} ({} images)", data.source(), data.len())
}

fn train_cnn(args: &TrainArgs) -> Result<()> {
    let (data, config) = args.cnn()?;
    let (epochs, dir) = (
        config.train.epochs,
        paths::relative(&neural::run_dir::<cnn::CnnConfig>()),
    );
    eprintln!(
        "training the CNN on {} for {epochs} epochs; run folder {dir}",
        about(&data)
    );
    let res = neural::run(&data, &config, args.resume)?;
    print!("{}", neural::summary("CNN", cnn::SECTION, &res));
    Ok(())
}

fn train_efficientnet(args: &TrainArgs, variant: EfficientNetVariant) -> Result<()> {
    let (data, config) = args.efficientnet(variant)?;
    let variant = variant.name();
    let (epochs, dir) = (
        config.train.epochs,
        paths::relative(&neural::run_dir::<efficientnet::EfficientNetConfig>()),
    );
    let on = about(&data);
    eprintln!("training EfficientNet-{variant} on {on} for {epochs} epochs; run folder {dir}");
    let res = neural::run(&data, &config, args.resume)?;
    let name = format!("EfficientNet-{variant}");
    print!("{}", neural::summary(&name, efficientnet::SECTION, &res));
    Ok(())
}

fn tune_cnn(args: &TuneArgs, p: Profile) -> Result<()> {
    let config = args.config(p);
    let (data, _) = args.data.for_profile(p).load()?;
    eprintln!(
        "tuning the CNN on {}: {} learning rates x {} batches, then {} architectures x {} \
         epochs; runs in {}",
        about(&data),
        config.sweep.rates.len(),
        config.sweep.batches,
        config.candidates.len(),
        config.search.epochs,
        paths::relative(&cnn_tuning::run_dir())
    );
    print!(
        "{}",
        cnn_tuning::summary(&cnn_tuning::run(&data, &config, args.resume)?)?
    );
    Ok(())
}

fn bench_svm_solvers(
    args: &DataArgs,
    pairs: &str,
    seed: u64,
    out: Option<&std::path::Path>,
) -> Result<()> {
    let (data, _) = args.load_input()?;
    let pairs = baselines::parse_pairs(&data, pairs)?;
    let config = baselines::BaselinesConfig::default();
    let t = baselines::time_svm_solvers(&data, seed, &pairs, &config.svm)?;
    print!("{}", baselines::solver_timing_summary(&t));
    if let Some(out) = out {
        paths::write_json(out, &t)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn predict(model: &std::path::Path, args: &DataArgs, out: Option<&std::path::Path>) -> Result<()> {
    let predictor = inference::Predictor::load(model)?;
    let (data, _) = args.load_input()?;
    let t = Instant::now();
    let labels = predictor.predict(&data)?;
    let secs = t.elapsed().as_secs_f64();
    let text = inference::labels_csv(&data, &labels);
    match out {
        Some(path) => {
            paths::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {} labels to {}", labels.len(), path.display());
        }
        None => print!("{text}"),
    }
    eprintln!(
        "{}: {} images of {} in {secs:.2} s ({:.0} images/s); agreement with the file's labels {:.2}%",
        predictor.kind,
        labels.len(),
        data.source(),
        labels.len() as f64 / secs.max(1e-9),
        100.0 * inference::agreement(&data, &labels)
    );
    Ok(())
}

fn run_reproduce(
    args: &DataArgs,
    seed: u64,
    (corpus, corpus_size): (&str, usize),
    profile: Profile,
) -> Result<()> {
    let start = Instant::now();
    let (data, load_secs) = args.for_profile(profile).load()?;
    eprintln!(
        "reproducing the report on {} ({} images, hash {}){}",
        data.source(),
        data.len(),
        &data.content_hash()[..16],
        if profile.is_quick() { ", quick" } else { "" }
    );
    let mut config = reproduce::ReproduceConfig::for_profile(profile);
    config.seed = seed;
    config.corpus = corpus.to_string();
    config.corpus_size = profile.corpus_size(corpus_size);
    let steps = reproduce::run(&data, &config, |i, n, name, reused| {
        let what = if reused {
            ": unchanged, reused"
        } else {
            " ..."
        };
        progress::line(format_args!("[{}/{n}] {name}{what}", i + 1));
    })?;
    let secs = start.elapsed().as_secs_f64();
    print!("{}", reproduce::summary(&steps, load_secs, secs));
    Ok(())
}

fn run_levers(args: &LeversArgs, profile: Profile, pretrain_only: bool) -> Result<()> {
    let mut config = levers::LeversConfig::for_profile(profile);
    if pretrain_only {
        config.variants.clear();
    }
    let (data, _) = args.data.for_profile(profile).load()?;
    let corpus = args.corpus(profile)?;
    eprintln!(
        "section 6.1 on {}, corpus {}; runs in {}",
        about(&data),
        about(&corpus),
        paths::relative(&levers::run_root())
    );
    let res = levers::run(&data, &corpus, &config, args.resume, |m| {
        progress::line(format_args!("[6.1] {m}"))
    })?;
    print!("{}", levers::summary(&res));
    Ok(())
}

fn cross_validate(args: &CvArgs, profile: Profile) -> Result<()> {
    let config = configs::cv_config(profile);
    let (data, _) = args.data.for_profile(profile).load()?;
    let tell = |m: &str| progress::line(format_args!("[6.2] {m}"));
    match &args.step {
        Some(UnitStep::Plan { out }) => {
            let units = cv::plan(&data, &config)?;
            write_plan(&units, out.as_deref(), &cv::run_root())
        }
        Some(UnitStep::Run { unit }) => {
            let units = cv::plan(&data, &config)?;
            let u = checked_unit(&units, *unit, "section 6.2", &cv::run_root())?;
            eprintln!(
                "section 6.2 on {}: unit {} of {}, {} ({})",
                about(&data),
                u.index,
                units.len(),
                u.id,
                u.what
            );
            cv::run_unit(&data, &config, &u.id, tell)?;
            println!("unit {} ({}) finished: {}", u.index, u.id, u.run_dir);
            Ok(())
        }
        Some(UnitStep::Collect) => {
            let res = cv::collect(&data, &config, tell)?;
            print!("{}", cv::summary(&res));
            Ok(())
        }
        None => {
            eprintln!(
                "section 6.2 on {}; runs in {}",
                about(&data),
                paths::relative(&cv::run_root())
            );
            let res = cv::run(&data, &config, args.resume, tell)?;
            print!("{}", cv::summary(&res));
            Ok(())
        }
    }
}

fn levers_command(cmd: &LeversCommand, profile: Profile) -> Result<()> {
    let Some(step) = &cmd.step else {
        return run_levers(&cmd.args, profile, false);
    };
    let config = levers::LeversConfig::for_profile(profile);
    let (data, _) = cmd.args.data.for_profile(profile).load()?;
    let corpus = cmd.args.corpus(profile)?;
    match step {
        UnitStep::Plan { out } => {
            let units = levers::plan(&data, &corpus, &config)?;
            write_plan(&units, out.as_deref(), &levers::run_root())
        }
        UnitStep::Run { unit } => {
            let units = levers::plan(&data, &corpus, &config)?;
            let u = checked_unit(&units, *unit, "section 6.1", &levers::run_root())?;
            eprintln!(
                "section 6.1 on {}: unit {} of {}, {} ({})",
                about(&data),
                u.index,
                units.len(),
                u.id,
                u.what
            );
            levers::run_unit(&data, &corpus, &config, &u.id)?;
            println!("unit {} ({}) finished: {}", u.index, u.id, u.run_dir);
            Ok(())
        }
        UnitStep::Collect => {
            let res = levers::collect(&data, &corpus, &config, |m| {
                progress::line(format_args!("[6.1] {m}"))
            })?;
            print!("{}", levers::summary(&res));
            Ok(())
        }
    }
}

/// `plan.jsonl` of a section's run folder.
fn plan_path(run_root: &std::path::Path) -> std::path::PathBuf {
    run_root.join("plan.jsonl")
}

/// Writes the plan (to `out`, or `plan.jsonl` in the run folder) and prints each stage's
/// index range, `stage S: FIRST-LAST`, the lines the Slurm scripts read.
fn write_plan(
    units: &[crate::jobs::Unit],
    out: Option<&std::path::Path>,
    run_root: &std::path::Path,
) -> Result<()> {
    let path = out.map_or_else(|| plan_path(run_root), std::path::Path::to_path_buf);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    }
    crate::jobs::write_plan(&path, units)?;
    println!("wrote {} ({} units)", paths::relative(&path), units.len());
    for (stage, first, last) in crate::jobs::stages(units) {
        println!("stage {stage}: {first}-{last}");
    }
    Ok(())
}

/// Unit `index` of `units`, checked against the plan written in the run folder (when there is
/// one): a plan written for other data or another configuration is an error, not a wrong unit.
fn checked_unit(
    units: &[crate::jobs::Unit],
    index: usize,
    section: &str,
    run_root: &std::path::Path,
) -> Result<crate::jobs::Unit> {
    let u = crate::jobs::unit_at(units, index, section)?;
    let path = plan_path(run_root);
    if let Ok(saved) = crate::jobs::read_plan(&path) {
        if saved.get(index) != Some(&u) || saved.len() != units.len() {
            return Err(crate::Error::bad_data(
                &path,
                format!(
                    "this plan was written for other data or another configuration (its unit \
                     {index} is not {} with key {}): write it again with `plan` and the same \
                     options as `run`",
                    u.id,
                    u.key.as_deref().unwrap_or("-")
                ),
            ));
        }
    }
    Ok(u)
}

fn run(command: &Command) -> Result<()> {
    let profile = command.profile();
    match command {
        Command::Summary { data } => {
            let (data, secs) = data.load_input()?;
            print!("{}", dataset::summary(&data, secs));
            Ok(())
        }
        Command::Figures {
            which: FigureCommand::Dataset { data, seed },
        } => {
            for f in &dataset::run(&data.load()?.0, *seed)?.figures {
                println!("wrote {f}");
            }
            println!("wrote report/results/{}.json", dataset::SECTION);
            Ok(())
        }
        Command::Figures {
            which: FigureCommand::Baselines,
        } => {
            let res = paths::read_json(&paths::result(baselines::SECTION))?;
            baselines::f1_figure_from(&res).map(wrote_figure)
        }
        Command::Figures {
            which: FigureCommand::LearningCurves,
        } => learning_curves::run().map(wrote_figure),
        Command::Figures {
            which: FigureCommand::Cv,
        } => {
            let res: cv::CvResults = paths::read_json(&paths::result(cv::SECTION))?;
            wrote_figure(cv::cv_figure(&res)?);
            cv::svm_grid_figure(&res.grid).map(wrote_figure)
        }
        Command::Figures {
            which: FigureCommand::Augmentation { data, quick },
        } => {
            let profile = Profile::from_flag(*quick);
            let (data, _) = data.for_profile(profile).load()?;
            match levers::augmentation_figure(&data, &levers::LeversConfig::for_profile(profile))? {
                Some(png) => wrote_figure(png),
                None => println!("no run of section 6.1 is augmented: no figure"),
            }
            Ok(())
        }
        Command::Preprocess { data, seed } => {
            let res = preprocessing::run(&data.load()?.0, *seed)?;
            print!("{}", preprocessing::summary(&res));
            Ok(())
        }
        Command::Split { data, seed, out } => {
            let (value, split) = preprocessing::split_json(&data.load_input()?.0, *seed)?;
            paths::write_json(out, &value)?;
            let (tr, va, te) = split.sizes();
            println!(
                "wrote {} (train {tr}, validation {va}, test {te})",
                out.display()
            );
            Ok(())
        }
        Command::Baselines(args) => {
            let (data, _) = args.data.for_profile(profile).load()?;
            let threads = rayon::current_num_threads();
            eprintln!("section 4.1 on {}, {threads} threads", about(&data));
            let res = baselines::run(&data, &args.config(profile), args.model.into())?;
            print!("{}", baselines::summary(&res));
            Ok(())
        }
        Command::BenchSvmSolvers {
            data,
            pairs,
            seed,
            out,
        } => bench_svm_solvers(data, pairs, *seed, out.as_deref()),
        Command::Train {
            model: TrainModel::Cnn(args),
        } => train_cnn(args),
        Command::Train {
            model: TrainModel::Efficientnet { common, variant },
        } => train_efficientnet(common, *variant),
        Command::Tune {
            model: TuneModel::Cnn(args),
        } => tune_cnn(args, profile),
        Command::Predict { model, data, out } => predict(model, data, out.as_deref()),
        Command::Results { data } => {
            let (data, _) = data.load()?;
            print!("{}", results::summary(&results::run(&data)?));
            Ok(())
        }
        Command::Levers(cmd) => levers_command(cmd, profile),
        Command::Pretrain(args) => run_levers(args, profile, true),
        Command::Cv(args) => cross_validate(args, profile),
        Command::Report => {
            for p in crate::report::write()? {
                println!("wrote {}", paths::relative(&p));
            }
            Ok(())
        }
        Command::Reproduce {
            data,
            seed,
            corpus,
            corpus_size,
            ..
        } => run_reproduce(data, *seed, (corpus, *corpus_size), profile),
        Command::Verify { data } => verify(data.as_deref()),
        Command::ExportWeights => export_weights(),
        Command::Device => {
            let report = device::device_report(crate::cuda::library_state())?;
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| crate::Error::param("device", e.to_string()))?;
            println!("{text}");
            Ok(())
        }
        Command::BenchNets {
            data,
            epochs,
            nets,
            precision,
            out,
            quick,
        } => {
            let (data, _) = data.for_profile(Profile::from_flag(*quick)).load()?;
            device::bench_nets(&data, nets, *epochs, *precision, out.as_deref())
        }
    }
}

/// `charlab verify`: prints the table and fails (exit 1) on any mismatch.
fn verify(data: Option<&str>) -> Result<()> {
    let start = Instant::now();
    let spec = match data {
        Some(d) => crate::data::DataSpec::from_arg(Some(d)),
        None => crate::data::DataSpec::Pickle(paths::shared_standin()),
    };
    let data = spec.load()?;
    let checks = crate::weights::verify(&data)?;
    print!("{}", crate::weights::table(&checks));
    println!("{:.1} s in all", start.elapsed().as_secs_f64());
    match checks.iter().find(|c| !c.ok()) {
        Some(c) => Err(crate::Error::bad_data(
            crate::weights::dir().join(&c.section),
            format!(
                "does not reproduce {}: {} test labels differ; retrain it, or re-export the run \
                 that made the results (`charlab export-weights`)",
                c.section, c.differing
            ),
        )),
        None => Ok(()),
    }
}

/// `charlab export-weights`: the runs behind Table 1's networks into weights/.
fn export_weights() -> Result<()> {
    use crate::sections::neural::run_dir;
    let data = "--data ../shared/data/alphamoon-standin/train.pkl";
    let runs = [
        (cnn::SECTION, run_dir::<cnn::CnnConfig>(), "cnn"),
        (
            efficientnet::SECTION,
            run_dir::<efficientnet::EfficientNetConfig>(),
            "efficientnet",
        ),
    ];
    let mut entries = Vec::new();
    for (section, dir, model) in runs {
        if !dir.join(paths::run_files::BEST_WEIGHTS).exists() {
            eprintln!(
                "skipped {section}: {} holds no finished run (`charlab train {model} {data}`)",
                paths::relative(&dir)
            );
            continue;
        }
        let command = format!("charlab train {model} {data}");
        match crate::weights::export(section, &dir, &command) {
            Ok(e) => entries.push(e),
            Err(e) => eprintln!("skipped {section}: {e}"),
        }
    }
    if let Ok(res) = paths::read_json::<levers::LeversResults>(&paths::result(levers::SECTION)) {
        let command =
            format!("charlab levers {data} --corpus ../shared/data/emnist-byclass-rest --resume");
        match crate::weights::export_levers_best(&res, &levers::run_root(), &command) {
            Ok(e) => entries.extend(e),
            Err(e) => eprintln!("skipped {}: {e}", levers::SECTION),
        }
    }
    if let Ok(res) = paths::read_json::<cv::CvResults>(&paths::result(cv::SECTION)) {
        let command = format!("charlab cv {data} --resume");
        match crate::weights::export_fold_vote(&res, &cv::run_root(), &command) {
            Ok(e) => entries.extend(e),
            Err(e) => eprintln!("skipped {}: {e}", cv::SECTION),
        }
    }
    // The pretraining runs section 6.2's models start from (finished here): without them a
    // new machine would have to pretrain again before cross-validating.
    let pretrained = cv::CvConfig::for_profile(Profile::Full)
        .models
        .into_iter()
        .filter_map(|m| match m.kind {
            cv::CvKind::Net { pretrained, .. } => pretrained,
            _ => None,
        });
    for name in pretrained {
        let id = format!("pretrain-{name}");
        let dir = levers::run_root().join(&id);
        if entries.iter().any(|e| e.model == id) {
            continue;
        }
        if !dir.join(paths::run_files::BEST_WEIGHTS).exists() {
            eprintln!(
                "skipped {id}: {} holds no finished run",
                paths::relative(&dir)
            );
            continue;
        }
        let command =
            format!("charlab levers {data} --corpus ../shared/data/emnist-byclass-rest --resume");
        match crate::weights::export_model(
            levers::SECTION,
            &dir,
            &id,
            &command,
            crate::channels_last(),
        ) {
            Ok(mut e) => {
                // What it reproduces is its run record, until section 6.1 is collected.
                e.results = paths::relative(&levers::record_path(&id));
                entries.push(e);
            }
            Err(e) => eprintln!("skipped {id}: {e}"),
        }
    }
    if entries.is_empty() {
        return Err(crate::Error::param(
            "runs",
            "no finished run matches its results file; nothing to export",
        ));
    }
    // Entries exported before and not again (their runs are not on this machine) stay.
    let old: crate::weights::Manifest =
        paths::read_json(&crate::weights::manifest_path()).unwrap_or_default();
    let kept: Vec<_> = old
        .models
        .into_iter()
        .filter(|o| !entries.iter().any(|e| e.name() == o.name()))
        .filter(|o| o.folder().is_dir())
        .collect();
    for k in &kept {
        println!("kept weights/{}/ (its run is not here)", k.name());
    }
    let mut models = kept;
    models.extend(entries);
    let manifest = crate::weights::Manifest { models };
    paths::write_json(&crate::weights::manifest_path(), &manifest)?;
    let cards = crate::weights::dir().join("README.md");
    paths::write_atomic(&cards, crate::weights::model_cards(&manifest)?.as_bytes())?;
    for e in &manifest.models {
        println!("wrote weights/{}/ ({} files)", e.name(), e.files.len());
    }
    println!(
        "wrote {}",
        paths::relative(&crate::weights::manifest_path())
    );
    println!("wrote {}", paths::relative(&cards));
    Ok(())
}

/// Parses the command line, reads the settings (the one place the CLI reads the environment),
/// runs the command and prints its error, if any, on stderr: exit 1 on an error, 0 otherwise.
pub fn main() -> ExitCode {
    crate::keep_freed_memory();
    // Before any libtorch work (the GPU bundle opens libtorch_cuda here).
    crate::cuda::load_library();
    let cli = Cli::parse();
    // The one place the CLI reads the environment; `--quick` chooses the profile.
    let mut settings = Settings::from_env();
    settings.profile = cli.command.profile();
    let threads = settings.thread_count();
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // matrixmultiply (threaded sgemm of the logistic regression) takes its thread count
        // from this variable only, read once at its first use.
        std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    }
    // Only fails when a pool exists already, which is fine.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    // A quick run's outputs go under target/quick/ whatever its data; a full run's are routed
    // once its data is loaded (DataArgs::load).
    let routed = if settings.profile.is_quick() {
        settings.route_outputs("")
    } else {
        None
    };
    settings.install();
    if let Some(out) = routed {
        eprintln!(
            "quick run: outputs go to {} (the committed figures and results stay as they are)",
            paths::relative(&out)
        );
    }
    match run(&cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
