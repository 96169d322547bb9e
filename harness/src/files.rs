//! Reading inputs and writing outputs so that no input can hurt and no
//! output is lost or destroys something else:
//!
//! * a write never leaves a half-written file: a regular file is written to
//!   a temporary file beside it, created exclusively (never through a planted
//!   link), then renamed into place;
//! * only regular files are replaced: a device, a FIFO or `-` (stdout) is
//!   written directly; a symbolic link, a directory or a socket is refused;
//! * an existing finding is never overwritten silently ([`write_new`]);
//! * temporary files are removed on error, on a signal that ends the
//!   process ([`remove_temporaries`]), and, when one was left by a writer
//!   killed outright (SIGKILL), by the next write of the same output;
//! * reads are bounded in size and read regular files only where a file is
//!   expected (a FIFO or `/dev/zero` named as a schedule cannot hang or
//!   exhaust memory), and a UTF-8 byte-order mark is dropped;
//! * an output that is one of the command's inputs is refused before any
//!   work starts ([`check_output`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The largest input file read: 16 MiB, far above any schedule, incident or
/// exploration this tool writes (a 100,000-run exploration is ~30 MiB only
/// with every window, which explore JSON does not keep).
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// Temporary files alive now, removed by [`remove_temporaries`] when a
/// signal ends the process before they are renamed or dropped.
static LIVE_TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary file still being written. For the signal
/// handler's last step before it exits: nothing is left behind but what was
/// already complete.
pub fn remove_temporaries() {
    remove_registered(|_| true);
}

fn remove_registered(which: impl Fn(&Path) -> bool) {
    let mut live = lock_live();
    live.retain(|path| {
        if which(path) {
            let _ = std::fs::remove_file(path);
            false
        } else {
            true
        }
    });
}

/// A temporary file beside its target, registered while it lives.
struct Temporary {
    file: tempfile::NamedTempFile,
}

impl Temporary {
    fn beside(path: &Path, bytes: &[u8]) -> std::io::Result<Temporary> {
        let dir = parent_of(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = temporary_stem(&name);
        sweep_stale(dir, stem);
        // O_CREAT|O_EXCL with a fresh random name: a planted file or link
        // of the same name makes it pick another, never write through it.
        // Created 0666 less the umask, as any new file; a file it replaces
        // keeps its own mode.
        let file = new_file_builder()
            .prefix(&format!(".{stem}.{}.", std::process::id()))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        lock_live().push(file.path().to_path_buf());
        #[cfg(unix)]
        if let Ok(old) = std::fs::symlink_metadata(path) {
            if old.is_file() {
                file.as_file().set_permissions(old.permissions())?;
            }
        }
        let mut temporary = Temporary { file };
        temporary.file.write_all(bytes)?;
        temporary.file.as_file().sync_all()?;
        Ok(temporary)
    }

    fn forget(path: &Path) {
        lock_live().retain(|p| p != path);
    }

    /// Renames into place, replacing a regular file there.
    fn replace(self, path: &Path) -> std::io::Result<()> {
        let temp_path = self.file.path().to_path_buf();
        let result = self.file.persist(path).map(|_| ()).map_err(|e| e.error);
        Temporary::forget(&temp_path);
        result
    }

    /// Links into place only if nothing has the name (atomically).
    fn create(self, path: &Path) -> std::io::Result<()> {
        let temp_path = self.file.path().to_path_buf();
        let result = self
            .file
            .persist_noclobber(path)
            .map(|_| ())
            .map_err(|e| e.error);
        Temporary::forget(&temp_path);
        result.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                exists()
            } else {
                e
            }
        })
    }
}

/// The most bytes of an output's name that its temporary's name carries,
/// so the temporary of a name near the file system's limit (255 bytes)
/// still fits beside it.
const TEMPORARY_STEM_BYTES: usize = 120;

/// The part of an output's file name its temporaries are named after.
fn temporary_stem(name: &str) -> &str {
    let mut end = name.len().min(TEMPORARY_STEM_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// A temporary-file builder whose files get the mode a new file gets
/// (0666 less the umask) rather than tempfile's private 0600.
fn new_file_builder<'a, 'b>() -> tempfile::Builder<'a, 'b> {
    #[allow(unused_mut)]
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

/// The longest file name most file systems take (NAME_MAX).
const MAX_NAME_BYTES: usize = 255;

/// Removes the temporaries of `name` left in `dir` by a process that no
/// longer runs (killed with SIGKILL mid-write, or a power cut): their names
/// carry the writer's pid. Only where the system says which processes run
/// (`/proc`); a pid that is taken again keeps its file, never the reverse.
fn sweep_stale(dir: &Path, name: &str) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|n| n.ends_with(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        // A regular file or a link itself, never what a link points to.
        let is_file_or_link = entry
            .file_type()
            .is_ok_and(|t| t.is_file() || t.is_symlink());
        if pid != std::process::id() && is_file_or_link && !proc_root.join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn lock_live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_TEMPORARIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn exists() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "the file already exists and is not overwritten",
    )
}

fn refused(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{what}; hormesis replaces only regular files"),
    )
}

/// Whether `path` means standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// What a path names now, as far as writing to it goes.
enum Existing {
    Nothing,
    Regular,
    /// A device or FIFO: written in place, never replaced.
    Stream,
}

fn existing(path: &Path) -> std::io::Result<Existing> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(e),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(refused("it is a symbolic link, not written through"));
    }
    if kind.is_dir() {
        return Err(refused("it is a directory"));
    }
    if kind.is_file() {
        return Ok(Existing::Regular);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() {
            return Ok(Existing::Stream);
        }
    }
    Err(refused("it is neither a file, a device nor a FIFO"))
}

fn write_stream(mut out: impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// Standard output, where a reader that went away (`| head`) is not an
/// error: there is no one left to tell.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    match write_stream(std::io::stdout().lock(), bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes `bytes` to `path`: `-` is stdout, a device or FIFO is written in
/// place, a regular file (or a new name) is replaced atomically through a
/// temporary file beside it. Links, directories and sockets are refused.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if is_stdout(path) {
        return write_stdout(bytes);
    }
    match existing(path)? {
        Existing::Stream => {
            write_stream(std::fs::OpenOptions::new().write(true).open(path)?, bytes)
        }
        Existing::Regular | Existing::Nothing => Temporary::beside(path, bytes)?.replace(path),
    }
}

/// Like [`write_atomically`], but fails with `AlreadyExists` instead of
/// replacing anything: a kept finding is never overwritten.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if is_stdout(path) {
        return write_stdout(bytes);
    }
    match existing(path)? {
        Existing::Nothing => Temporary::beside(path, bytes)?.create(path),
        Existing::Regular | Existing::Stream => Err(exists()),
    }
}

/// Reads a text input: a regular file of at most [`MAX_INPUT_BYTES`], or
/// `-` for stdin. A leading UTF-8 byte-order mark is dropped.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    if is_stdout(path) {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)?;
    } else {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a directory, not a file",
            ));
        }
        if !meta.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a device, FIFO or socket is not read, so it cannot hang or fill memory)",
            ));
        }
        if meta.len() > MAX_INPUT_BYTES {
            return Err(too_large());
        }
        std::fs::File::open(path)?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line {line}: not UTF-8 text"),
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

fn too_large() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "larger than {} MiB, the most hormesis reads from one file",
            MAX_INPUT_BYTES >> 20
        ),
    )
}

/// Checks, before any work starts, that `output` can be written and is none
/// of `inputs`: its folder exists and takes new files, it is not a link,
/// directory or socket, and it is not the same file as an input (which the
/// write would destroy). `-` (stdout) always passes.
pub fn check_output(output: &Path, inputs: &[&Path]) -> Result<(), String> {
    if is_stdout(output) {
        return Ok(());
    }
    let shown = output.display();
    if let Some(name) = output.file_name() {
        if name.len() > MAX_NAME_BYTES {
            return Err(format!(
                "{shown}: the file name is {} bytes long; file systems take at most {MAX_NAME_BYTES}",
                name.len()
            ));
        }
    }
    let kind = existing(output).map_err(|e| format!("{shown}: cannot write there: {e}"))?;
    if let Existing::Regular | Existing::Stream = kind {
        for input in inputs {
            if same_file(output, input) {
                return Err(format!(
                    "{shown} is also an input of this command ({}); writing it would destroy that input: choose another output",
                    input.display()
                ));
            }
        }
    }
    if let Existing::Stream = kind {
        return Ok(());
    }
    check_writable_dir(parent_of(output)).map_err(|e| format!("{shown}: {e}"))
}

/// Checks that `dir` is a directory this process can create files in (or,
/// when it does not exist yet, that its parent is), before any work starts.
pub fn check_output_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => check_writable_dir(dir).map_err(|e| format!("{shown}: {e}")),
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::metadata(dir) {
            Ok(target) if target.is_dir() => {
                check_writable_dir(dir).map_err(|e| format!("{shown}: {e}"))
            }
            _ => Err(format!("{shown}: not a directory")),
        },
        Ok(_) => Err(format!(
            "{shown}: not a directory (a file of that name is in the way)"
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // It will be made with its missing parents: the nearest one that
            // exists must be a folder that takes new entries.
            let mut existing = parent_of(dir);
            while !existing.exists() {
                existing = parent_of(existing);
                if existing == Path::new(".") && !existing.exists() {
                    break;
                }
            }
            check_writable_dir(existing).map_err(|e| {
                format!(
                    "{shown} does not exist and cannot be created in {}: {e}",
                    existing.display()
                )
            })
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

fn check_writable_dir(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(format!("{} is not a directory", dir.display())),
        Err(e) => return Err(format!("folder {}: {e}", dir.display())),
    }
    // Creating (and dropping) a probe is the only check that agrees with
    // the file system on permissions, read-only mounts and quotas.
    tempfile::Builder::new()
        .prefix(".hormesis-probe.")
        .tempfile_in(dir)
        .map(drop)
        // The probe's own random name is no help to the reader: the reason
        // alone (`Permission denied (os error 13)`).
        .map_err(|e| {
            let why = e.raw_os_error().map_or_else(
                || e.kind().to_string(),
                |c| std::io::Error::from_raw_os_error(c).to_string(),
            );
            format!("cannot create files in {}: {why}", dir.display())
        })
}

/// What identifies a file whatever path names it (device and inode on
/// Unix, the canonical path elsewhere); links are followed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileId(u64, u64, PathBuf);

/// The identity of the file `path` names; `None` when it cannot be reached.
pub fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(FileId(meta.dev(), meta.ino(), PathBuf::new()))
    }
    #[cfg(not(unix))]
    {
        Some(FileId(0, 0, std::fs::canonicalize(path).ok()?))
    }
}

/// Whether two paths name the same file (same device and inode).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hormesis-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") || n.contains("probe"))
            .collect()
    }

    #[test]
    fn write_new_never_replaces_and_leaves_no_temporary_file() {
        let dir = scratch("new");
        let path = dir.join("a.yaml");
        write_new(&path, b"first").unwrap();
        let err = write_new(&path, b"second").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        write_atomically(&path, b"third").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_and_never_written_through() {
        let dir = scratch("links");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = dir.join("out.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = write_atomically(&link, b"x").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(write_new(&link, b"x").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A planted link where the old writer put its temporary file.
        let target = dir.join("report.json");
        let planted = dir.join(format!(".report.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomically(&target, b"report").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&target).unwrap(), b"report");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_not_replaced() {
        write_atomically(Path::new("/dev/null"), b"gone").unwrap();
        let meta = std::fs::symlink_metadata("/dev/null").unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(meta.file_type().is_char_device());
        if Path::new("/dev/full").exists() {
            let err = write_atomically(Path::new("/dev/full"), b"x").unwrap_err();
            assert_ne!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
            assert!(std::fs::symlink_metadata("/dev/full")
                .unwrap()
                .file_type()
                .is_char_device());
        }
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = scratch("dir");
        let err = write_atomically(&dir, b"x").unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outputs_that_are_inputs_or_unwritable_are_refused_up_front() {
        let dir = scratch("check");
        let input = dir.join("in.yaml");
        std::fs::write(&input, b"x").unwrap();
        let err = check_output(&input, &[&input]).unwrap_err();
        assert!(err.contains("also an input"), "{err}");
        // The same file by another spelling.
        let other = dir.join(".").join("in.yaml");
        assert!(check_output(&other, &[&input]).is_err());
        assert!(check_output(&dir.join("out.json"), &[&input]).is_ok());
        let err = check_output(&dir.join("nodir").join("x.json"), &[]).unwrap_err();
        assert!(err.contains("nodir"), "{err}");
        assert!(check_output(Path::new("-"), &[&input]).is_ok());
        assert!(check_output_dir(&dir.join("new")).is_ok());
        assert!(check_output_dir(&dir.join("new").join("deeper")).is_ok());
        assert!(check_output_dir(&input.join("below-a-file")).is_err());
        assert!(check_output_dir(&input)
            .unwrap_err()
            .contains("not a directory"));
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_are_bounded_regular_and_drop_a_byte_order_mark() {
        let dir = scratch("read");
        let path = dir.join("s.yaml");
        std::fs::write(&path, "\u{feff}version: 1\n").unwrap();
        assert_eq!(read_text(&path).unwrap(), "version: 1\n");
        std::fs::write(&path, b"ok\n\xff\xfe").unwrap();
        assert!(read_text(&path).unwrap_err().to_string().contains("line 2"));
        let big = std::fs::File::create(&path).unwrap();
        big.set_len(MAX_INPUT_BYTES + 1).unwrap();
        assert!(read_text(&path).unwrap_err().to_string().contains("MiB"));
        assert!(read_text(&dir)
            .unwrap_err()
            .to_string()
            .contains("directory"));
        #[cfg(unix)]
        assert!(read_text(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string()
            .contains("regular file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporaries_of_dead_writers_are_swept_and_live_ones_kept() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let dir = scratch("stale");
        // pid 4294967295 never runs (Linux pids stop at 2^22).
        let dead = dir.join(".out.json.4294967295.AbCdEf.tmp");
        let mine = dir.join(format!(".out.json.{}.XyZ.tmp", std::process::id()));
        let other = dir.join(".other.json.4294967295.AbCdEf.tmp");
        for p in [&dead, &mine, &other] {
            std::fs::write(p, b"half").unwrap();
        }
        write_atomically(&dir.join("out.json"), b"whole").unwrap();
        assert!(!dead.exists(), "a dead writer's temporary is swept");
        assert!(mine.exists(), "this process's own may be in flight");
        assert!(other.exists(), "another output's is not touched");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn remove_temporaries_deletes_what_is_registered() {
        let dir = scratch("signal");
        let path = dir.join("half.json");
        let temporary = Temporary::beside(&path, b"half").unwrap();
        let temp_path = temporary.file.path().to_path_buf();
        assert!(temp_path.exists());
        // What the signal handler does before exiting: the temporary is
        // gone even though its owner never finished.
        std::mem::forget(temporary);
        assert!(lock_live().contains(&temp_path));
        // Only this test's file: other tests write concurrently.
        remove_registered(|p| p == temp_path);
        assert!(!temp_path.exists());
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
