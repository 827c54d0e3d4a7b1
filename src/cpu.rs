//! The instruction sets the hottest loops are compiled for, and which of them
//! this CPU has: the portable build targets x86-64-v2, and the loops marked
//! with `multiversion` also carry AVX2 and AVX-512 versions, one of which is
//! picked at run time. `--version` prints both, as ripgrep's does.

/// One instruction set: its name, whether the whole build assumes it, and
/// whether this CPU has it (the multiversioned loops use it if so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// The name `is_x86_feature_detected!` knows it by.
    pub name: &'static str,
    /// Assumed by every instruction of the build (`-C target-cpu`).
    pub compiled: bool,
    /// Present on this CPU.
    pub detected: bool,
}

/// The instruction sets the build or its multiversioned loops use; empty on
/// other architectures than x86-64, where the portable loops run.
pub fn features() -> Vec<Feature> {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! feature {
            ($name:tt) => {
                Feature {
                    name: $name,
                    compiled: cfg!(target_feature = $name),
                    detected: std::arch::is_x86_feature_detected!($name),
                }
            };
        }
        vec![
            feature!("sse4.2"),
            feature!("popcnt"),
            feature!("avx2"),
            feature!("avx512f"),
            feature!("avx512bw"),
            feature!("avx512vpopcntdq"),
        ]
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the build assumes, the CPU running it must have.
    #[test]
    fn compiled_features_are_detected() {
        for feature in features() {
            assert!(!feature.compiled || feature.detected, "{feature:?}");
        }
    }
}
