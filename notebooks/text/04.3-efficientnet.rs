// %% [markdown]
// # 4.3 EfficientNet-b0
//
// The report's second network: EfficientNet-b0 with its classifier replaced by a 36-class one and no layer frozen,
// trained like the CNN (Adam, batch 128, the checkpoint with the lowest validation cross-entropy scored on the
// test part). charlab builds torchvision's b0 for one-channel 56x56 images (`charlab::models::efficientnet`); no
// pretrained weights can be downloaded here, so it trains from scratch, and `Init::Pretrained(path)` (or
// `charlab train efficientnet --weights FILE.safetensors`) starts from torchvision's or timm's weights when you
// have them.
//
// **Schedule**: the cell under *Setup*. `Profile::Full` is the report's 25 epochs (the committed outputs, on the
// stand-in; about half an hour to a few hours on 2 CPU cores, depending on the machine), `Profile::Quick` (or
// `CHARLAB_QUICK=1`, the test command) 1 epoch on 1,500 images (the embedded default's, or a sample of your `CHARLAB_DATA`), whose numbers are not the report's.
// Training resumes the run folder it finds (`data/models/04.3-efficientnet/`, written by
// `charlab train efficientnet` too) and only loads a finished one.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::display::{history_table, net_table, per_class_table};
use charlab::sections::{efficientnet, neural};

// %% [markdown]
// ## Setup

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;

// %% [markdown]
// ## The split
// The report's random split (seed 0), as for the CNN.

// %%
let config = efficientnet::EfficientNetConfig {
    train: TrainParams { epochs: lab.profile.efficientnet_epochs(25), ..Default::default() },
    ..Default::default()
};
let split = random_split(data.len(), config.split_seed)?;
let (tr, va, te) = split.sizes();
println!("train {tr}, validation {va}, test {te} images");

// %% [markdown]
// ## The network
// `Net::Efficientnet` with b0's widths and depths (`EfficientNetParams::b0()`): its stages, output shapes (without
// the batch dimension) and trainable parameters. Input: `[batch, 1, 56, 56]`, normalised by the training part's
// mean and std.

// %%
let net = Net::Efficientnet(config.model.clone());
println!("{}: {} trainable parameters", net.label(), net.parameter_count()?);
table(&net_table(&net)?)

// %% [markdown]
// Inverted-residual blocks (MBConv) with squeeze-and-excitation, each stage halving the image or widening the
// channels; at 56x56 the last stages work on 2x2 maps. It has more parameters than the CNN but far fewer
// multiply-adds per parameter in its head.

// %%
println!("{:#?}", config.model);
println!("{:#?}", config.train);

// %% [markdown]
// ## Training
// `Fit` as for the CNN: seeded, a line per epoch, the run folder of `charlab train efficientnet` (reused when
// finished, resumed when stopped), and the committed weights `weights/04.3-efficientnet/` loaded instead of
// training when the run folder is empty and the data and configuration are theirs (`reuse: None` trains).

// %%
let fit = Fit {
    config: Some(neural::NeuralConfig::run_config(&config, &data)?),
    reuse: Some(charlab::weights::folder(paths::section::EFFICIENTNET)),
    ..Fit::new(net.clone(), config.train.clone(), lab.run_dir(paths::section::EFFICIENTNET))
};
let trained = fit.run(&TrainData::new(&data, &split, Device::cuda_if_available())?)?;
println!("{} parameters, best epoch {} of {}", trained.parameters(), trained.best_epoch, trained.history.len());
println!("run folder {}", paths::relative(&trained.run_dir));

// %% [markdown]
// ## History

// %%
table(&history_table(&trained.history)?)

// %% [markdown]
// As with the CNN, the validation loss stops improving long before the last epoch while the training loss keeps
// falling; the checkpoint of the best validation loss is the one scored.
//
// ## Scoring on the test part

// %%
let pred = trained.predict(&data, &split.test)?;
let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &pred, data.n_classes())?;
println!("test accuracy {:.2}%, macro F1 {:.2}%", 100.0 * cm.accuracy(), 100.0 * cm.macro_f1());

// %% [markdown]
// Section 5 sets these scores beside the CNN's and the baselines' (Table 1). Without ImageNet weights,
// EfficientNet-b0 has no head start over the CNN here. Per class:

// %%
table(&per_class_table(&cm.per_class(), data.class_chars())?)

// %% [markdown]
// ## Learning curves
// This run's curves, from `trained.history`, beside the CNN's when its results file is there (`charlab reproduce`
// draws the report's `figures/04-learning-curves` from the results files):

// %%
let mut runs = vec![("EfficientNet-b0".to_string(), trained.history.clone())];
if let Ok(cnn) = paths::read_json::<neural::NeuralResults<charlab::sections::cnn::CnnConfig>>(&paths::result("04.2-cnn")) {
    runs.insert(0, ("CNN".to_string(), cnn.history));
}
let curves = charlab::plot::LearningCurves { runs };
charlab::plot::render_png(&curves)?

// %% [markdown]
// ### What the curves show
// The report's reading of the curves, generated from this run's history:

// %%
Html(charlab::report::markdown_fragment_html(&charlab::report::curve_reading("EfficientNet-b0", &trained.history, trained.best_epoch)))
