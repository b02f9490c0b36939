//! A data set's images as the pixel models take them.

use ndarray::Array2;

use super::Dataset;

impl Dataset {
    /// The images at `indices` as `[indices.len(), pixels]` f32 0/1 features (the logistic
    /// regression's input).
    pub fn features(&self, indices: &[usize]) -> Array2<f32> {
        let mut x = Array2::zeros((indices.len(), self.pixels()));
        for (mut row, &i) in x.outer_iter_mut().zip(indices) {
            for (v, &p) in row.iter_mut().zip(self.image(i)) {
                *v = p as f32;
            }
        }
        x
    }

    /// The images at `indices` as one contiguous 0/1 byte buffer, row after row (the SVM's
    /// input).
    pub fn pixel_rows(&self, indices: &[usize]) -> Vec<u8> {
        indices
            .iter()
            .flat_map(|&i| self.image(i).iter().copied())
            .collect()
    }
}
