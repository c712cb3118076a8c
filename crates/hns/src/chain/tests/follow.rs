//! Locator heights and the safe-root height rule.

use super::*;

fn assert_locator_shape(tip: u32, lowest: u32, loc: &[u32]) {
    assert!(loc.len() <= MAX_LOCATOR_HEIGHTS, "{tip}: {}", loc.len());
    assert_eq!(loc[0], tip);
    assert!(loc.windows(2).all(|w| w[0] > w[1]), "{loc:?}");
    let lowest = lowest.min(tip);
    if lowest > 0 {
        assert_eq!(loc[loc.len() - 2..], [lowest, 0]);
    } else {
        assert_eq!(loc.last(), Some(&0));
    }
    assert!(loc.iter().all(|&h| h >= lowest || h == 0));
}

#[test]
fn locator_small_chains() {
    assert_eq!(locator_heights(0, 0), vec![0]);
    assert_eq!(locator_heights(5, 0), vec![5, 4, 3, 2, 1, 0]);
    assert_eq!(locator_heights(136_000, 136_000), vec![136_000, 0]);
}

#[test]
fn locator_is_dense_then_doubling() {
    let loc = locator_heights(1000, 0);
    assert_locator_shape(1000, 0, &loc);
    // The first 11 entries are consecutive, then the gaps double.
    assert_eq!(&loc[..11], &(990..=1000).rev().collect::<Vec<_>>()[..]);
    assert_eq!(&loc[11..15], &[988, 984, 976, 960]);
    assert!(loc.len() < 25);
}

#[test]
fn locator_shapes() {
    for tip in [1, 10, 11, 12, 13, 100, 136_149, 300_000, u32::MAX] {
        for lowest in [0, 1, 136_000, u32::MAX] {
            assert_locator_shape(tip, lowest, &locator_heights(tip, lowest));
        }
    }
    let from_checkpoint = locator_heights(136_149, 136_000);
    assert_eq!(&from_checkpoint[from_checkpoint.len() - 2..], &[136_000, 0]);
}

#[test]
fn safe_root_height_rule() {
    assert_eq!(safe_root_height(154, 5), 150);
    assert_eq!(safe_root_height(150, 5), 150);
    assert_eq!(safe_root_height(136_149, 36), 136_149);
    // 136116 = 36 · 3781: eleven blocks on top is not enough, twelve is.
    assert_eq!(safe_root_height(136_127, 36), 136_116);
    assert_eq!(safe_root_height(136_128, 36), 136_128);
    assert_eq!(safe_root_height(136_120, 36), 136_116);
    assert_eq!(safe_root_height(11, 36), 0);
    assert_eq!(safe_root_height(12, 36), 12);
    assert_eq!(safe_root_height(7, 0), 7);
}

proptest! {
    #[test]
    fn locator_properties(tip in any::<u32>(), lowest in any::<u32>()) {
        let loc = locator_heights(tip, lowest);
        assert_locator_shape(tip, lowest, &loc);
    }

    #[test]
    fn safe_root_properties(tip in any::<u32>(), interval in 1u32..200) {
        let h = safe_root_height(tip, interval);
        prop_assert!(h <= tip);
        prop_assert!(h == tip || (h.is_multiple_of(interval) && tip - h < 12));
    }
}
