//! `charlab`: the command-line entry point. Every command reads its data from `--data`
//! (a `train.pkl`, an EMNIST folder, or nothing for the embedded default; `CHARLAB_DATA` when
//! the flag is absent) and takes `--seed` wherever randomness is used.

use std::process::ExitCode;
use std::time::Instant;

use charlab::data::{DataSpec, Dataset};
use charlab::sections::{cnn, dataset, learning_curves, preprocessing};
use charlab::{paths, Result};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "charlab",
    version,
    about = "Handwritten character classification: reproduce and extend the report"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DataArgs {
    /// A train.pkl (pickle of (X, y)), an EMNIST IDX folder, or `default` for the embedded
    /// synthetic set [env: CHARLAB_DATA; default: the embedded set]
    #[arg(long, value_name = "PATH")]
    data: Option<String>,
    /// Images in the embedded default set (when --data is not given)
    #[arg(long, value_name = "N", default_value_t = 30_134)]
    default_size: usize,
    /// Seed of the embedded default set
    #[arg(long, value_name = "N", default_value_t = charlab::data::synth::DEFAULT_SEED)]
    data_seed: u64,
}

impl DataArgs {
    fn spec(&self) -> DataSpec {
        let arg = self
            .data
            .clone()
            .or_else(|| std::env::var(paths::DATA_ENV).ok());
        match DataSpec::from_arg(arg.as_deref()) {
            DataSpec::Default { .. } => DataSpec::Default {
                n: self.default_size,
                seed: self.data_seed,
            },
            other => other,
        }
    }

    fn load(&self) -> Result<(Dataset, f64)> {
        let start = Instant::now();
        let data = self.spec().load()?;
        Ok((data, start.elapsed().as_secs_f64()))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print image count, image size, class count and per-class counts
    Summary {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write the figures of a report section
    Figures {
        #[command(subcommand)]
        which: FigureCommand,
    },
    /// Section 3: split, per-class counts per part, normalisation statistics
    Preprocess {
        #[command(flatten)]
        data: DataArgs,
        /// Seed of the splits
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Sections 4.2 / 4.3: train a neural model, evaluate its best checkpoint on test
    Train {
        #[command(subcommand)]
        model: TrainModel,
    },
    /// Run every section in order (currently: dataset, preprocessing)
    Reproduce {
        #[command(flatten)]
        data: DataArgs,
        /// Seed of the splits and samples
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Small and fast: the embedded set at 6,000 images unless --data is given
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Subcommand)]
enum TrainModel {
    /// The report's CNN (results/04.2-cnn.json, run in data/models/04.2-cnn/)
    Cnn(TrainArgs),
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Epochs
    #[arg(long, default_value_t = 25)]
    epochs: usize,
    /// Training batch size
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Adam learning rate
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Seed of the split, the initialisation, the shuffles and dropout
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue the run in the run folder from its last finished epoch
    #[arg(long)]
    resume: bool,
    /// Small and fast: 2 epochs on the embedded set at 3,000 images (unless --data is given)
    #[arg(long)]
    quick: bool,
}

#[derive(Subcommand)]
enum FigureCommand {
    /// Section 4: learning curves of the neural models, from their results files
    LearningCurves,
    /// Section 2: class distribution and one sample per class (+ results/02-dataset.json)
    Dataset {
        #[command(flatten)]
        data: DataArgs,
        /// Seed used to pick the sample images
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

fn summary(args: &DataArgs) -> Result<()> {
    let (data, secs) = args.load()?;
    let counts = data.class_counts();
    println!("data:     {}", data.source());
    println!("hash:     {}", data.content_hash());
    println!("images:   {}", data.len());
    println!("size:     {}x{}", data.height(), data.width());
    println!(
        "classes:  {} ({} with images)",
        data.n_classes(),
        counts.iter().filter(|&&c| c > 0).count()
    );
    println!("loaded in {secs:.3} s");
    println!();
    println!("class  char  images   share");
    for (c, &n) in counts.iter().enumerate() {
        println!(
            "{c:>5}  {:>4}  {n:>6}  {:>5.2}%",
            data.class_chars()[c],
            100.0 * n as f64 / data.len().max(1) as f64
        );
    }
    Ok(())
}

fn figures_dataset(args: &DataArgs, seed: u64) -> Result<()> {
    let (data, _) = args.load()?;
    let res = dataset::run(&data, seed)?;
    for f in &res.figures {
        println!("wrote {f}");
    }
    println!("wrote report/results/{}.json", dataset::SECTION);
    Ok(())
}

fn preprocess(args: &DataArgs, seed: u64) -> Result<()> {
    let (data, _) = args.load()?;
    let res = preprocessing::run(&data, seed)?;
    print_preprocessing(&res);
    println!("wrote report/results/{}.json", preprocessing::SECTION);
    Ok(())
}

fn print_preprocessing(res: &preprocessing::PreprocessingResults) {
    let (tr, va, te) = res.random.sizes;
    println!(
        "random split (seed {}): train {tr}, validation {va}, test {te}",
        res.seed
    );
    let (tr, va, te) = res.stratified.sizes;
    println!("stratified split:        train {tr}, validation {va}, test {te}");
    println!(
        "stratified {}-fold test sizes: {:?}",
        res.kfold_test_sizes.len(),
        res.kfold_test_sizes
    );
    println!(
        "normalisation (train only): mean {:.4}, std {:.4}",
        res.normalizer.mean, res.normalizer.std
    );
    for t in &res.tiny_classes {
        println!(
            "class {} ('{}', {} image(s)): random split -> {:?}, stratified -> {:?}",
            t.class, t.character, t.images, t.random_split_parts, t.stratified_split_parts
        );
    }
}

fn train_cnn(args: &TrainArgs) -> Result<()> {
    let mut data_args = args.data.clone();
    let mut epochs = args.epochs;
    if args.quick {
        if data_args.data.is_none() {
            data_args.default_size = 3_000;
        }
        epochs = epochs.min(2);
    }
    let (data, _) = data_args.load()?;
    let config = cnn::CnnConfig {
        train: charlab::training::TrainParams {
            epochs,
            batch_size: args.batch_size,
            learning_rate: args.lr,
            seed: args.seed,
            ..Default::default()
        },
        split_seed: args.seed,
        ..Default::default()
    };
    eprintln!(
        "training the CNN on {} ({} images) for {epochs} epochs; run folder {}",
        data.source(),
        data.len(),
        paths::relative(&cnn::run_dir())
    );
    let res = cnn::run(&data, &config, args.resume)?;
    println!(
        "CNN: test accuracy {:.2}%, macro F1 {:.2}% (best epoch {} of {}), {} parameters",
        100.0 * res.test_accuracy,
        100.0 * res.test_macro_f1,
        res.best_epoch,
        res.history.len(),
        res.parameters
    );
    println!(
        "training {:.0} images/s, inference {:.0} images/s, {:.0} s of training in all",
        res.train_images_per_second, res.inference_images_per_second, res.train_seconds
    );
    println!("wrote report/results/{}.json", cnn::SECTION);
    Ok(())
}

fn reproduce(args: &DataArgs, seed: u64, quick: bool) -> Result<()> {
    let mut args = args.clone();
    if quick && args.data.is_none() {
        args.default_size = 6_000;
    }
    let start = Instant::now();
    let bar = indicatif::ProgressBar::new(3);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("reproduce");
    bar.set_message("loading data");
    let (data, load_secs) = args.load()?;
    bar.inc(1);
    bar.set_message("section 2: dataset");
    let t = Instant::now();
    dataset::run(&data, seed)?;
    let ds_secs = t.elapsed().as_secs_f64();
    bar.inc(1);
    bar.set_message("section 3: preprocessing");
    let t = Instant::now();
    let pre = preprocessing::run(&data, seed)?;
    let pre_secs = t.elapsed().as_secs_f64();
    bar.inc(1);
    bar.finish_and_clear();
    println!(
        "data: {} ({} images, hash {})",
        data.source(),
        data.len(),
        &data.content_hash()[..16]
    );
    println!("  load data            {load_secs:>7.2} s");
    println!("  02 dataset           {ds_secs:>7.2} s  -> figures/02-*.{{svg,png}}, report/results/02-dataset.json");
    println!("  03 preprocessing     {pre_secs:>7.2} s  -> report/results/03-preprocessing.json");
    print_preprocessing(&pre);
    println!("done in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Summary { data } => summary(data),
        Command::Figures {
            which: FigureCommand::Dataset { data, seed },
        } => figures_dataset(data, *seed),
        Command::Figures {
            which: FigureCommand::LearningCurves,
        } => learning_curves::run().map(|png| {
            if let Some(p) = png.path {
                println!("wrote {} (and .svg)", paths::relative(&p));
            }
        }),
        Command::Preprocess { data, seed } => preprocess(data, *seed),
        Command::Train {
            model: TrainModel::Cnn(args),
        } => train_cnn(args),
        Command::Reproduce { data, seed, quick } => reproduce(data, *seed, *quick),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
