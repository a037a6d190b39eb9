//! The container log: service output on stdout, the worker's own notices on stderr.
//!
//! Like `pebble run --verbose`, every line a service writes (stdout and stderr share one pipe)
//! is copied to the worker's stdout as `<RFC 3339 time> [<service>] <line>`; the worker's own
//! messages go to stderr as `<time> [worker-server] <message>`. Unlike Pebble, output is
//! always forwarded (a container's log is the only place it can go); `-v` is accepted and
//! changes nothing.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2024-05-01T10:00:00.123Z` (with `millis`) or `2024-05-01T10:00:00Z`.
pub fn rfc3339(t: SystemTime, millis: bool) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, mo, da) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
    if millis {
        format!("{base}.{:03}Z", d.subsec_millis())
    } else {
        format!("{base}Z")
    }
}

/// Writes one of the worker's own messages to stderr.
pub fn notice(message: &str) {
    let line = format!(
        "{} [worker-server] {message}\n",
        rfc3339(SystemTime::now(), true)
    );
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Copies a service's output to stdout, line by line, prefixed with its name, until the pipe
/// closes (every process holding it has exited).
pub fn forward(service: String, reader: File) {
    let name = service.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("log-{service}"))
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                let prefix = format!("{} [{service}] ", rfc3339(SystemTime::now(), true));
                let mut out = io::stdout().lock();
                let _ = out.write_all(prefix.as_bytes());
                let _ = out.write_all(&line);
                let _ = out.flush();
            }
        });
    if let Err(e) = spawned {
        notice(&format!("Cannot forward output of service {name:?}: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_rfc3339() {
        let t = UNIX_EPOCH + Duration::from_millis(1_714_557_600_123);
        assert_eq!(rfc3339(t, true), "2024-05-01T10:00:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH, false), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400), false),
            "2000-02-29T00:00:00Z"
        );
    }
}
