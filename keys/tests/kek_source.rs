//! Loading the KEK from a value or a file, including first-run creation.

use glassgate_keys::{Kek, KekSource, KeyError, load_kek};

#[test]
fn value_source() {
    let (kek, b64) = Kek::generate().unwrap();
    let (loaded, generated) = load_kek(&KekSource::Value(b64), false).unwrap();
    assert!(!generated);
    assert_eq!(loaded.id(), kek.id());
    // create_if_missing is irrelevant for a value.
    assert!(matches!(
        load_kek(&KekSource::Value("bad!".into()), true),
        Err(KeyError::BadKek(_))
    ));
}

#[test]
fn file_source_reads_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek");
    let (kek, b64) = Kek::generate().unwrap();
    std::fs::write(&path, format!("{b64}\n")).unwrap();
    let (loaded, generated) = load_kek(&KekSource::File(path), false).unwrap();
    assert!(!generated);
    assert_eq!(loaded.id(), kek.id());
}

#[test]
fn missing_file_without_create_is_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let source = KekSource::File(dir.path().join("absent"));
    assert!(matches!(load_kek(&source, false), Err(KeyError::Io { .. })));
    assert!(!dir.path().join("absent").exists());
}

#[test]
fn create_if_missing_generates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("kek");
    let source = KekSource::File(path.clone());
    let (first, generated) = load_kek(&source, true).unwrap();
    assert!(generated);
    let (second, generated_again) = load_kek(&source, true).unwrap();
    assert!(!generated_again);
    assert_eq!(first.id(), second.id());

    let wrapped = first.wrap(b"pk", b"aad").unwrap();
    assert_eq!(second.unwrap(&wrapped, b"aad").unwrap().as_slice(), b"pk");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn bad_file_contents_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kek");
    std::fs::write(&path, "%%% not base64 %%%").unwrap();
    assert!(matches!(
        load_kek(&KekSource::File(path.clone()), true),
        Err(KeyError::BadKek(_))
    ));
    std::fs::write(&path, "AAAA").unwrap(); // 3 bytes
    assert!(matches!(
        load_kek(&KekSource::File(path), true),
        Err(KeyError::BadKek(_))
    ));
}
