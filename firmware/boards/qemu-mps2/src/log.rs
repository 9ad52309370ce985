//! The defmt global logger: frames go out on UART1 (QEMU's second `-serial`),
//! to be decoded on the host with `defmt-print -e <elf>`. On a real board the
//! same frames would go to RTT (`defmt-rtt`, read by probe-rs) instead.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::uart::{UART1, Uart};

#[defmt::global_logger]
struct Logger;

/// A value touched only between `acquire` and `release`, that is inside a
/// critical section by the one holder of `TAKEN`.
struct Shared<T>(UnsafeCell<T>);

// SAFETY: the contents are accessed only by the holder of `TAKEN`, inside a
// critical section on a single core, so never from two contexts at once.
unsafe impl<T> Sync for Shared<T> {}

static TAKEN: AtomicBool = AtomicBool::new(false);
static ENCODER: Shared<defmt::Encoder> = Shared(UnsafeCell::new(defmt::Encoder::new()));
static UART: Shared<Option<Uart>> = Shared(UnsafeCell::new(None));
static RESTORE: Shared<critical_section::RestoreState> =
    Shared(UnsafeCell::new(critical_section::RestoreState::invalid()));

fn write_out(bytes: &[u8]) {
    // SAFETY: called only from the encoder, between `acquire` and `release`;
    // the UART cell is a different object from the encoder being used.
    let uart = unsafe { &mut *UART.0.get() };
    uart.get_or_insert_with(|| {
        // SAFETY: UART1 is a CMSDK UART and the logger is its only user.
        unsafe { Uart::new(UART1, None) }
    })
    .write(bytes);
}

// SAFETY: `acquire` enters a critical section and refuses re-entry; the
// statics above are only touched between `acquire` and `release`.
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        // SAFETY: paired with the `critical_section::release` in `release`.
        let restore = unsafe { critical_section::acquire() };
        if TAKEN.swap(true, Ordering::Acquire) {
            panic!("defmt logger re-entered");
        }
        // SAFETY: we hold `TAKEN` inside a critical section.
        unsafe {
            *RESTORE.0.get() = restore;
            (*ENCODER.0.get()).start_frame(write_out);
        }
    }

    unsafe fn flush() {}

    unsafe fn release() {
        // SAFETY: defmt calls `release` only after `acquire`: we hold `TAKEN`.
        let restore = unsafe {
            (*ENCODER.0.get()).end_frame(write_out);
            *RESTORE.0.get()
        };
        TAKEN.store(false, Ordering::Release);
        // SAFETY: the state saved by `acquire`.
        unsafe { critical_section::release(restore) };
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: defmt calls `write` only between `acquire` and `release`.
        unsafe { (*ENCODER.0.get()).write(bytes, write_out) };
    }
}
