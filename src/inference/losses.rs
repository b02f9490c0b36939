//! The images a model is most confidently wrong about (fastai's `plot_top_losses`): the
//! misclassified images with the highest cross-entropy loss, `-ln p(true class)`.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// One misclassified image and how sure the model was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopLoss {
    /// Position of the image among the scored ones (the row of the logits).
    pub position: usize,
    /// Its true class.
    pub truth: usize,
    /// The class the model gave it.
    pub predicted: usize,
    /// The model's probability of the true class.
    pub p_truth: f64,
    /// The model's probability of the class it gave.
    pub p_predicted: f64,
    /// Cross-entropy loss of the image, `-ln p_truth`.
    pub loss: f64,
}

/// The `k` misclassified images with the highest loss, highest first, from `logits`
/// (`[n, classes]`, before the softmax) and the true classes of the `n` images.
///
/// ```
/// use charlab::inference::top_losses;
/// use charlab::tch::Tensor;
/// // Three images, two classes: the first is right, the other two wrong, the third surely so.
/// let logits = Tensor::from_slice(&[3.0f32, 0.0, 0.0, 1.0, 0.0, 5.0]).view([3, 2]);
/// let top = top_losses(&logits, &[0, 0, 0], 5)?;
/// assert_eq!(top.iter().map(|t| t.position).collect::<Vec<_>>(), [2, 1]);
/// assert!(top[0].p_predicted > 0.99);
/// # Ok::<(), charlab::Error>(())
/// ```
pub fn top_losses(logits: &Tensor, truth: &[usize], k: usize) -> Result<Vec<TopLoss>> {
    let size = logits.size();
    if size.len() != 2 || size[0] as usize != truth.len() {
        return Err(Error::param(
            "logits",
            format!(
                "shape {size:?} for {} true classes: give one row of logits per image",
                truth.len()
            ),
        ));
    }
    let classes = size[1] as usize;
    let probs = logits.to_kind(Kind::Double).softmax(-1, Kind::Double);
    let flat = Vec::<f64>::try_from(probs.reshape([-1])).map_err(Error::Torch)?;
    let mut wrong = Vec::new();
    for (i, (row, &t)) in flat.chunks(classes.max(1)).zip(truth).enumerate() {
        let predicted = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(c, _)| c);
        let p_truth = row.get(t).copied().ok_or_else(|| {
            Error::param(
                "truth",
                format!("class {t} of image {i} >= {classes} classes"),
            )
        })?;
        if predicted != t {
            wrong.push(TopLoss {
                position: i,
                truth: t,
                predicted,
                p_truth,
                p_predicted: row[predicted],
                loss: -p_truth.max(f64::MIN_POSITIVE).ln(),
            });
        }
    }
    wrong.sort_by(|a, b| b.loss.total_cmp(&a.loss).then(a.position.cmp(&b.position)));
    wrong.truncate(k);
    Ok(wrong)
}
