//! Dropout: the GPU mask and values equal the CPU reference's bit for bit
//! on every adapter; about p of the elements are dropped and the rest are
//! scaled by 1/(1 − p); the seed alone decides the mask (same seed, same
//! mask; another seed, another), the backward pass applies the same mask;
//! p = 0 and p = 1 are the identity and torch's x · 0; a bad p is refused.
mod common;
use common::{gpus, label, Rng};
use wgconv::{cpu, Error};

#[test]
fn gpu_dropout_equals_the_reference_bit_for_bit() {
    let mut rng = Rng::new(31);
    for gpu in gpus() {
        for (len, p, seed) in [
            (1usize, 0.5f32, 1u64),
            (1000, 0.1, 7),
            (4099, 0.5, u64::MAX),
            (777, 0.9, 1 << 40),
        ] {
            let x = rng.floats(len);
            let t = gpu.tensor(&[len], &x).unwrap();
            let y = gpu.dropout(&t, p, seed).unwrap().to_vec().unwrap();
            let want = cpu::dropout(&x, p, seed).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&y),
                bits(&want),
                "len {len} p {p} seed {seed} on {}",
                label(gpu)
            );
            let dx = gpu.dropout_backward(&t, p, seed).unwrap().to_vec().unwrap();
            assert_eq!(
                bits(&dx),
                bits(&want),
                "backward, len {len} on {}",
                label(gpu)
            );
        }
    }
}

#[test]
fn dropout_drops_about_p_and_scales_the_rest() {
    let n = 200_000;
    let x = vec![1.0f32; n];
    for p in [0.1f32, 0.3, 0.5, 0.8] {
        let y = cpu::dropout(&x, p, 42).unwrap();
        let kept = y.iter().filter(|&&v| v != 0.0).count();
        let scale = (1.0 / (1.0 - p as f64)) as f32;
        assert!(
            y.iter().all(|&v| v == 0.0 || v == scale),
            "p {p}: values 0 or {scale}"
        );
        let frac = kept as f64 / n as f64;
        // 5 standard deviations of a binomial proportion.
        let sd = ((p as f64) * (1.0 - p as f64) / n as f64).sqrt();
        assert!(
            (frac - (1.0 - p as f64)).abs() < 5.0 * sd,
            "p {p}: kept {frac}"
        );
    }
}

#[test]
fn the_seed_alone_decides_the_mask() {
    let x = vec![1.0f32; 4096];
    let a = cpu::dropout(&x, 0.5, 1).unwrap();
    assert_eq!(a, cpu::dropout(&x, 0.5, 1).unwrap());
    let b = cpu::dropout(&x, 0.5, 2).unwrap();
    let differ = a.iter().zip(&b).filter(|(u, v)| u != v).count();
    // Independent masks differ on about half of the elements.
    assert!((1500..2600).contains(&differ), "{differ} of 4096 differ");
    // Seeds that differ only in their high half give other masks too.
    let c = cpu::dropout(&x, 0.5, 1 | (1 << 32)).unwrap();
    assert!(a.iter().zip(&c).filter(|(u, v)| u != v).count() > 1500);
    for gpu in gpus() {
        let t = gpu.tensor(&[4096], &x).unwrap();
        assert_eq!(
            gpu.dropout(&t, 0.5, 2).unwrap().to_vec().unwrap(),
            b,
            "on {}",
            label(gpu)
        );
    }
}

#[test]
fn dropout_edges_and_bad_p() {
    let x = [1.5f32, -2.0, f32::NAN, 0.25];
    assert_eq!(cpu::dropout(&x, 0.0, 9).unwrap()[..2], [1.5, -2.0]);
    let ones = cpu::dropout(&x, 1.0, 9).unwrap();
    assert_eq!(ones[..2], [0.0, -0.0], "p = 1 is torch's x · 0");
    assert!(ones[2].is_nan(), "NaN · 0 stays NaN, as in torch");
    for gpu in gpus() {
        let t = gpu.tensor(&[4], &x).unwrap();
        let y = gpu.dropout(&t, 0.0, 9).unwrap().to_vec().unwrap();
        assert_eq!(y[..2], [1.5, -2.0], "p = 0 on {}", label(gpu));
        assert!(y[2].is_nan());
        for p in [-0.1f32, 1.5, f32::NAN] {
            let e = gpu.dropout(&t, p, 1).unwrap_err();
            assert!(
                matches!(e, Error::InvalidParam { param: "p", .. }),
                "{p}: {e}"
            );
        }
    }
}
