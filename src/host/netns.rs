//! `--netns NAME`: enter a named network namespace (`/run/netns/NAME`, where `ip netns add`
//! binds them) as `ip netns exec NAME` does, for the calling thread and every thread it starts
//! afterwards: the capture then sees that namespace's interfaces and sock_diag lists that
//! namespace's sockets (setns(2), network_namespaces(7)).

use std::os::fd::AsRawFd;

/// Move the calling thread into network namespace `name`. Needs CAP_SYS_ADMIN.
pub fn enter(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!("--netns: invalid namespace name {name:?}"));
    }
    let path = format!("/run/netns/{name}");
    let f = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("--netns: no network namespace named {name} ({path} does not exist)")
        }
        _ => format!("--netns {name}: cannot open {path}: {e}"),
    })?;
    // SAFETY: setns on a file descriptor we own; it affects only the calling thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "--netns {name}: cannot enter the namespace: {e} (needs root or CAP_SYS_ADMIN)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_and_missing_names_are_one_line_errors() {
        assert!(enter("../etc").unwrap_err().contains("invalid"));
        assert!(enter("").unwrap_err().contains("invalid"));
        let e = enter("tcplens-no-such-namespace").unwrap_err();
        assert!(e.contains("no network namespace named"), "{e}");
    }
}
