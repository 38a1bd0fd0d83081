//! Splitting CPU-bound work over the cores (signature checks, receipt signatures).

/// Slices shorter than this are handled on the calling thread.
pub const PARALLEL_MIN: usize = 32;

/// `f` over `items` split into one part per core (scoped threads), results in item order.
/// Short slices, or a single core, run on the calling thread. A panic in `f` is re-raised
/// on the calling thread, as if `f` had run there.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = if items.len() >= PARALLEL_MIN {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_for_every_length() {
        for n in [0usize, 1, 31, 32, 33, 100, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let out = map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
