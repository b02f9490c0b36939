// %% [markdown]
// # 3. Preprocessing
//
// The report splits the data at random into 22,634 training, 2,500 validation and 5,000 test images, and
// feeds the neural networks images normalised by the global mean and standard deviation. This notebook shows
// the split, the class counts in each part (and where the single image of class 30 lands), a stratified
// alternative, stratified k-fold, and the normalisation statistics, fitted on the training part only.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::sections::preprocessing;
use charlab::split::SplitSummary;
use charlab::split;

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;
println!("images:  {} of {}x{} pixels, {} classes", data.len(), data.height(), data.width(), data.n_classes());
println!("hash:    {}", &data.content_hash()[..16]);

// %% [markdown]
// ## The report's random split
// A seeded shuffle (seed 0) cut into the report's sizes (scaled to the data set when it has another size).

// %%
let random = split::random_split(data.len(), 0)?;
let (tr, va, te) = random.sizes();
println!("train {tr}, validation {va}, test {te}");

// %% [markdown]
// ## A stratified split
// Same sizes, every class shared in proportion. Policy for tiny classes: at least one image of each class stays in train, so a one-image class is train-only.

// %%
let strat = split::stratified_split(data.labels(), 0)?;
let (tr, va, te) = strat.sizes();
println!("train {tr}, validation {va}, test {te}");

// %% [markdown]
// ## Class counts per part
// `train`/`validation`/`test`: the random split; `strat_*`: the stratified one.

// %%
let r = SplitSummary::of("random", &data, &random);
let s = SplitSummary::of("stratified", &data, &strat);
table(&charlab::display::split_table(&data, &r, &s)?)

// %% [markdown]
// ## The one-image class
// Where each image of a class with fewer than three images goes, and which classes a part misses entirely.

// %%
let res = preprocessing::results(&data, 0)?;
for t in &res.tiny_classes {
    println!("class {} ('{}'): {} image(s); random split -> {:?}; stratified -> {:?}",
        t.class, t.character, t.images, t.random_split_parts, t.stratified_split_parts);
}
println!("classes missing from (train, validation, test), random split:     {:?}", r.missing);
println!("classes missing from (train, validation, test), stratified split: {:?}", s.missing);

// %% [markdown]
// ## Stratified k-fold
// Five folds; each class is dealt round-robin over the folds, so fold sizes differ by at most one image.

// %%
let folds = split::stratified_kfold(data.labels(), 5, 0)?;
for (k, f) in folds.iter().enumerate() {
    println!("fold {k}: train {:>6}, test {:>5}", f.train.len(), f.test.len());
}
let covered: usize = folds.iter().map(|f| f.test.len()).sum();
println!("test parts cover {covered} of {} images", data.len());

// %% [markdown]
// ## Normalisation
// Mean and standard deviation of all pixels of the **training** part only (fitting on validation or test images would leak them). Pixels are 0/1, so the mean is the ink fraction and std = sqrt(m(1-m)).

// %%
let norm = Normalizer::fit(&data, &random.train)?;
println!("mean {:.4}, std {:.4}", norm.mean, norm.std);
println!("validation after normalisation: mean {:.4}, std {:.4}", res.validation_after.0, res.validation_after.1);

// %% [markdown]
// The tensors the networks will see: `[batch, 1, 56, 56]` float32, on the GPU when there is one.

// %%
let device = charlab::tch::Device::cuda_if_available();
let (x, y) = norm.tensors(&data, &random.validation[..8], device)?;
println!("x {:?} {:?} on {:?}, min {:.3}, max {:.3}", x.size(), x.kind(), x.device(), x.min().double_value(&[]), x.max().double_value(&[]));
println!("y {:?} = {:?}", y.size(), Vec::<i64>::try_from(&y)?);

// %% [markdown]
// ## Results file
// `report/results/03-preprocessing.json`.

// %%
paths::write_json(&paths::result(paths::section::PREPROCESSING), &res)?;
println!("wrote {}", charlab::paths::relative(&charlab::paths::result(paths::section::PREPROCESSING)));
