//! Edit distance for "did you mean": the optimal-string-alignment distance, where a swap of
//! two neighbouring letters counts once, as the commonest typo does.

/// The optimal-string-alignment distance between `a` and `b`, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    // Proves insertions, deletions and substitutions count one each, and a swap once.
    #[test]
    fn typos_count_once() {
        assert_eq!(edit_distance("Given", "Given"), 0);
        assert_eq!(edit_distance("Gvien", "Given"), 1);
        assert_eq!(edit_distance("Gien", "Given"), 1);
        assert_eq!(edit_distance("Whan", "When"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
