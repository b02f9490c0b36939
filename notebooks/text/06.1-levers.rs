// %% [markdown]
// # 6.1 Pretraining, imbalance, augmentation
//
// The original report's best model was EfficientNet-b0 **pretrained** on ImageNet (timm's weights): 95.0%
// accuracy and 88.0% macro F1, against 92.0% / 79.0% for its CNN, the gain coming mostly from the rare
// classes. ImageNet weights cannot be downloaded here (`charlab train efficientnet --init FILE.safetensors`
// loads torchvision's or timm's for a user who has them), so this section tests the same lever *in the
// domain*: pretrain on a larger corpus of handwriting, then fine-tune on the training part. Beside it, the
// report's other future-work levers for the rare and confused classes:
//
// - **class-weighted cross-entropy** (class c weighs (n / n_c)^p) and **logit adjustment** after training
//   (subtract tau x log prior, tau chosen on validation);
// - **augmentation**: small rotation, scale, shear, shift and elastic distortion, never a flip;
// - **votes** of the best variants (soft and majority), members chosen on validation.
//
// Everything is chosen on the validation part; the test part is only scored. The full run (the tuned 4-block
// CNN and EfficientNet-b0, pretrained on the 80,290 EMNIST images that are not in the stand-in) takes hours
// on 2 cores (the README's table of section times gives what it took), so it is done by the CLI
// (`charlab levers --data ../shared/data/alphamoon-standin/train.pkl --corpus ../shared/data/emnist-byclass-rest --resume`)
// and this notebook *resumes* it. With `CHARLAB_QUICK=1` (the test command) it runs two 1-epoch variants of a
// small CNN on 1,500 images (the embedded default's, or a sample of your `CHARLAB_DATA`), pretrained on 1,500 generated glyphs.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::sections::levers::{self, LeversConfig};

// %% [markdown]
// ## Data and corpus
// The corpus comes from `CHARLAB_CORPUS` (an EMNIST folder, a `train.pkl` or `default`), else the shared
// EMNIST folder beside the project when it exists, else 60,000 glyphs of the embedded generator.

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;
let corpus = lab.corpus(60_000)?;

// %% [markdown]
// ## The variants
// Each variant names its network, whether it starts from a pretraining run, and its training settings
// (augmentation and class weights included).

// %%
let config = LeversConfig::for_profile(lab.profile);
for p in &config.pretraining {
    println!("pretraining {}: epochs {}, learning rate {}, on the corpus, augmented: {}", p.name, p.train.epochs,
        p.train.learning_rate, p.train.augment.is_some());
}
for v in &config.variants {
    println!("{:<30} from {:<8} epochs {:>2}, learning rate {:<6} augmented: {:<5} class weights: {:?}", v.name,
        v.pretrained.clone().unwrap_or("scratch".into()), v.train.epochs, v.train.learning_rate,
        v.train.augment.is_some(), v.train.class_weight_power);
}
println!("{} pretraining run(s), {} variants", config.pretraining.len(), config.variants.len());

// %% [markdown]
// ## Augmentation
// One training image of each look-alike character and seven random draws (`figures/06-augmentation`). Each
// draw is a function of (seed, epoch, batch), so a resumed run sees the same images.

// %%
let split = charlab::split::random_split(data.len(), config.split_seed)?;
let aug = charlab::augment::AugmentParams::default();
levers::figures::augmentation_figure(&data, &split.train, &aug, config.split_seed)?

// %% [markdown]
// ## Pretraining, fine-tuning and scoring (resumed)
// Finished runs in `data/models/06.1-levers/` are reused; the rest train now.

// %%
let res = levers::run(&data, &corpus, &config, true, |m| eprintln!("{m}"))?;
for p in &res.pretraining {
    println!("pretraining {}: {} corpus images, {} dropped as identical to a validation or test image",
        p.name, p.corpus_images, p.dropped_duplicates);
}
println!("{} variants and {} votes scored", res.variants.len(), res.ensembles.len());

// %%
table(&levers::variants_table(&res)?)

// %% [markdown]
// ## What it shows
// The report's section 6.1, generated from the same results file as the table above (so it stays true when
// the numbers change):

// %%
let mut w = charlab::report::Writer::default();
charlab::report::levers_section(&mut w, &res);
Html(charlab::report::markdown_fragment_html(&w.text))
