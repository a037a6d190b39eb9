//! [`ParallelGz`]: a gzip writer that compresses on every core, as pigz does, with output that
//! depends only on the input and the level (never on the number of threads).
//!
//! The input is cut into [`BLOCK`]-byte blocks. Each block is deflated on its own by a worker
//! thread, primed with the previous block's last 32 KiB as its dictionary (so matches reach back
//! across the cut and the ratio stays that of one stream), and ended with a sync flush (an empty
//! stored block, which byte-aligns it); the last block ends the stream. The blocks' outputs,
//! written in order between a fixed gzip header (mtime 0, no name, OS 255) and the CRC-32 and
//! length trailer, form one ordinary deflate stream that any gzip reader decodes. The writer
//! thread only copies, hashes and checksums; up to two blocks per worker are in flight.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Bytes of input per block.
pub const BLOCK: usize = 1 << 20;
/// The deflate window: how much of the previous block primes the next.
const WINDOW: usize = 32 * 1024;

/// One block to compress, and where its output goes.
struct Job {
    dictionary: Vec<u8>,
    input: Vec<u8>,
    last: bool,
    level: u32,
    reply: Sender<io::Result<Vec<u8>>>,
}

/// A gzip stream written to `W`, compressed by a pool of threads; end it with [`finish`].
///
/// [`finish`]: ParallelGz::finish
pub struct ParallelGz<W: Write> {
    out: Option<W>,
    level: u32,
    buffer: Vec<u8>,
    /// The end of the previous block, for the next one's dictionary.
    tail: Vec<u8>,
    crc: Crc,
    pending: VecDeque<Receiver<io::Result<Vec<u8>>>>,
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    max_pending: usize,
}

impl<W: Write> ParallelGz<W> {
    /// A writer at gzip `level` with one worker per available core.
    pub fn new(mut out: W, level: u32) -> io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..threads)
            .map(|_| {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let result = deflate_block(&job);
                        let _ = job.reply.send(result);
                    }
                })
            })
            .collect();
        // gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS "unknown".
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])?;
        Ok(ParallelGz {
            out: Some(out),
            level,
            buffer: Vec::with_capacity(BLOCK),
            tail: Vec::new(),
            crc: Crc::new(),
            pending: VecDeque::new(),
            jobs: Some(jobs),
            workers,
            max_pending: 2 * threads,
        })
    }

    /// Compresses what is left, writes the trailer and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        let crc = self.crc.sum();
        let len = self.crc.amount();
        self.out()?.write_all(&crc.to_le_bytes())?;
        self.out()?.write_all(&len.to_le_bytes())?;
        self.stop();
        let mut out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("finished twice"))?;
        out.flush()?;
        Ok(out)
    }

    /// Sends the buffered input as a block (the last one if `last`).
    fn submit(&mut self, last: bool) -> io::Result<()> {
        if self.pending.len() >= self.max_pending {
            self.write_oldest()?;
        }
        let input = std::mem::replace(&mut self.buffer, Vec::with_capacity(BLOCK));
        let dictionary = std::mem::take(&mut self.tail);
        self.tail = input[input.len().saturating_sub(WINDOW)..].to_vec();
        let (reply, result) = mpsc::channel();
        let job = Job {
            dictionary,
            input,
            last,
            level: self.level,
            reply,
        };
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| io::Error::other("the compression threads stopped"))?;
        self.pending.push_back(result);
        Ok(())
    }

    /// Waits for the oldest block in flight and writes its output.
    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(result) = self.pending.pop_front() {
            let bytes = result
                .recv()
                .map_err(|_| io::Error::other("a compression thread failed"))??;
            self.out()?.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Closes the job queue and waits for the workers.
    fn stop(&mut self) {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }

    /// The writer (present until [`ParallelGz::finish`] takes it).
    fn out(&mut self) -> io::Result<&mut W> {
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("the gzip stream is finished"))
    }
}

impl<W: Write> Write for ParallelGz<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK - self.buffer.len());
        self.buffer.extend_from_slice(&buf[..n]);
        self.crc.update(&buf[..n]);
        if self.buffer.len() == BLOCK {
            self.submit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ParallelGz<W> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Deflates one block (raw deflate, no header), sync-flushed unless it is the last.
fn deflate_block(job: &Job) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(job.level), false);
    if !job.dictionary.is_empty() {
        c.set_dictionary(&job.dictionary)
            .map_err(io::Error::other)?;
    }
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(job.input.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(c.total_in()).map_err(io::Error::other)?;
        let status = c
            .compress_vec(&job.input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let done = usize::try_from(c.total_in()).map_err(io::Error::other)? == job.input.len();
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError if done && !job.last && out.len() < out.capacity() => {
                return Ok(out);
            }
            _ => out.reserve(out.capacity().max(64 * 1024)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Input with repeats across block boundaries (so dictionaries matter) and noise.
    fn sample(len: usize) -> Vec<u8> {
        let mut x: u32 = 1;
        (0..len)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if (i / 4096) % 3 == 0 {
                    (x >> 24) as u8
                } else {
                    (i % 251) as u8
                }
            })
            .collect()
    }

    #[test]
    fn round_trips_any_size_in_any_write_pattern_with_the_same_bytes() {
        for len in [0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12_345] {
            let data = sample(len);
            let mut one = ParallelGz::new(Vec::new(), 3).unwrap();
            one.write_all(&data).unwrap();
            let one = one.finish().unwrap();
            let mut small = ParallelGz::new(Vec::new(), 3).unwrap();
            for chunk in data.chunks(7777) {
                small.write_all(chunk).unwrap();
            }
            let small = small.finish().unwrap();
            assert_eq!(one, small, "output depends on how it was written ({len})");
            assert_eq!(gunzip(&one), data, "round trip of {len} bytes");
        }
    }

    #[test]
    fn compresses_about_as_well_as_one_stream() {
        let data = sample(4 * BLOCK);
        let mut par = ParallelGz::new(Vec::new(), 3).unwrap();
        par.write_all(&data).unwrap();
        let par = par.finish().unwrap();
        let mut one = flate2::write::GzEncoder::new(Vec::new(), Compression::new(3));
        one.write_all(&data).unwrap();
        let one = one.finish().unwrap();
        assert!(
            par.len() <= one.len() + one.len() / 50,
            "{} vs {}",
            par.len(),
            one.len()
        );
    }
}
