//! The item-item Gram matrix XᵀX that EASE regularises and inverts.
//!
//! Built from the sparse rows directly (each user adds the outer product of
//! their history) instead of a dense X, so the cost is Σ|history|² rather
//! than users × items².

use faer::Mat;

use crate::interactions::Interactions;

/// XᵀX as a dense symmetric `items × items` matrix.
pub(crate) fn gram(x: &Interactions) -> Mat<f64> {
    let n = x.n_items();
    // Column-major accumulation into a flat buffer: plain slice arithmetic
    // stays fast even where this crate is built without optimisation.
    let mut g = vec![0.0f64; n * n];
    for u in 0..x.n_users() {
        let u = u as crate::UserIdx;
        let (items, weights) = (x.user_items(u), x.user_weights(u));
        for (&a, &wa) in items.iter().zip(weights) {
            let column = &mut g[a as usize * n..(a as usize + 1) * n];
            let wa = f64::from(wa);
            for (&b, &wb) in items.iter().zip(weights) {
                column[b as usize] += wa * f64::from(wb);
            }
        }
    }
    Mat::from_fn(n, n, |i, j| g[j * n + i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_is_x_transpose_x() -> Result<(), crate::InteractionsError> {
        // X = [[1, 2, 0], [0, 1, 1]] over items a, b, c.
        let x = Interactions::from_triples([("u", "a", 1.0), ("u", "b", 2.0), ("v", "b", 1.0), ("v", "c", 1.0)])?;
        let g = gram(&x);
        let expected = [[1.0, 2.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 1.0]];
        for (i, row) in expected.iter().enumerate() {
            for (j, &value) in row.iter().enumerate() {
                assert_eq!(g[(i, j)], value, "({i}, {j})");
            }
        }
        Ok(())
    }
}
