//! Median time past and the per-block difficulty retarget (hns-chain.md §2.1.5, §2.2; hsd
//! `chain.js` `getMedianTime`, `getTarget`, `getSuitableBlock`, `retarget`; hnsd `src/chain.c`).

use ruint::aliases::{U256, U512};

use super::{ChainEntry, ChainError, ChainView, MEDIAN_TIMESPAN};
use crate::params::{NetworkParams, PowParams};
use crate::pow::{div_2_256_minus_1, to_compact};

/// The entry at `height` on the parent's branch: the parent itself or an ancestor from `view`.
fn ancestor<'a, V: ChainView + ?Sized>(
    view: &'a V,
    parent: &'a ChainEntry,
    height: u32,
) -> Result<&'a ChainEntry, ChainError> {
    if height == parent.height {
        return Ok(parent);
    }
    match view.entry_at(height) {
        // A view returning the wrong height would silently corrupt the rules; treat it as absent.
        Some(entry) if entry.height == height && height < parent.height => Ok(entry),
        _ => Err(ChainError::MissingAncestor { height }),
    }
}

/// Median time past of `parent`: the median `time` of the parent and up to ten of its
/// ancestors (fewer near genesis). A new header's time must be strictly greater.
pub fn median_time_past<V: ChainView + ?Sized>(
    view: &V,
    parent: &ChainEntry,
) -> Result<u64, ChainError> {
    let mut times = [0u64; MEDIAN_TIMESPAN];
    let mut count = 0;
    let mut height = parent.height;
    for slot in times.iter_mut() {
        *slot = ancestor(view, parent, height)?.time;
        count += 1;
        match height.checked_sub(1) {
            Some(h) => height = h,
            None => break,
        }
    }
    let used = &mut times[..count];
    used.sort_unstable();
    Ok(used[count / 2])
}

/// The bits the child of `parent` must carry if its time is `time` (hns-chain.md §2.2).
pub fn expected_bits<V: ChainView + ?Sized>(
    params: &NetworkParams,
    view: &V,
    parent: &ChainEntry,
    time: u64,
) -> Result<u32, ChainError> {
    let pow = &params.pow;
    if pow.no_retargeting {
        return Ok(pow.limit_bits);
    }
    if pow.target_reset && time > parent.time.saturating_add(2 * pow.target_spacing) {
        return Ok(pow.limit_bits);
    }
    // Too little history for a full window plus the suitable-block lookback.
    if parent.height < pow.blocks_per_day.saturating_add(2) {
        return Ok(pow.limit_bits);
    }
    let last = suitable(view, parent, parent.height)?;
    let first_height = parent.height - pow.blocks_per_day;
    let first = suitable(view, parent, first_height)?;
    Ok(retarget(pow, first, last))
}

/// hsd `getSuitableBlock`: the median by time of the entry at `height` and its two parents,
/// using three conditional swaps so that equal times keep their order.
fn suitable<'a, V: ChainView + ?Sized>(
    view: &'a V,
    parent: &'a ChainEntry,
    height: u32,
) -> Result<&'a ChainEntry, ChainError> {
    let below = |d: u32| {
        height
            .checked_sub(d)
            .ok_or(ChainError::MissingAncestor { height: 0 })
    };
    let mut z = ancestor(view, parent, height)?;
    let mut y = ancestor(view, parent, below(1)?)?;
    let mut x = ancestor(view, parent, below(2)?)?;
    if x.time > z.time {
        std::mem::swap(&mut x, &mut z);
    }
    if x.time > y.time {
        std::mem::swap(&mut x, &mut y);
    }
    if y.time > z.time {
        std::mem::swap(&mut y, &mut z);
    }
    Ok(y)
}

/// hsd `retarget`: scale the work done between `first` and `last` to the target spacing.
fn retarget(pow: &PowParams, first: &ChainEntry, last: &ChainEntry) -> u32 {
    let done = last
        .chainwork
        .as_u256()
        .checked_sub(first.chainwork.as_u256())
        .unwrap_or(U256::ZERO);
    // Widen so `work · spacing` cannot overflow (hsd uses unbounded integers).
    let scaled = U512::saturating_from(done) * U512::from(pow.target_spacing);

    // Times are u64 on the wire; the difference is signed and clamped.
    let actual = i128::from(last.time) - i128::from(first.time);
    let actual = actual.clamp(i128::from(pow.min_actual), i128::from(pow.max_actual));
    let actual = u64::try_from(actual).unwrap_or(pow.max_actual);

    let work = scaled / U512::from(actual.max(1));
    // `work` ≤ `done` since actual ≥ spacing, so it fits in 256 bits.
    let work = U256::saturating_from(work);
    let Some(target) = div_2_256_minus_1(work) else {
        return pow.limit_bits;
    };
    if target > pow.limit_target.as_u256() {
        return pow.limit_bits;
    }
    to_compact(&target)
}
