//! Finding 13: the session store must not panic when the OS refuses a
//! thread. A test hook makes every thread the store asks for fail; a save
//! (several traces, written in parallel; a trace of 4 MiB and more, hashed
//! on a second thread) must then run on the calling thread alone and give
//! the same file content. Its own test binary: the hook is process-wide.

use evident::session::*;

#[test]
fn save_without_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::new("no threads");
    for c in 0..6 {
        let n = if c == 0 { 700_000 } else { 10_000 }; // 5.6 MB: hashed on a second thread
        let wave: Vec<f64> = (0..n)
            .map(|i| (i as f64 * 0.001 + c as f64).sin())
            .collect();
        s.add_trace(
            &format!("CH{c}"),
            Trace::from_slice(&wave, TraceInfo::with_rate(1e6)).unwrap(),
        )
        .unwrap();
    }
    let want = s.clone();
    let path = dir.path().join("t.evs");
    fail_thread_spawns(true);
    let plain = s.save(Some(&path), &SaveOptions::default());
    let zpath = dir.path().join("z.evs");
    let mut z = want.clone();
    let zipped = z.save(Some(&zpath), &SaveOptions::default().compress(Some(1)));
    fail_thread_spawns(false);
    plain.unwrap();
    zipped.unwrap();
    for p in [&path, &zpath] {
        let back = Session::load(p, &LoadOptions::default()).unwrap();
        for (name, t) in want.traces() {
            let b = back.trace(name).unwrap();
            assert_eq!(b.bytes().unwrap(), t.bytes().unwrap(), "{name}");
            b.verify().unwrap();
        }
        assert!(verify_session(p, None).unwrap().ok);
    }
}
