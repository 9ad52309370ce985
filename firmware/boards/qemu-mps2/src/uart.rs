//! Arm CMSDK APB UART (the UARTs of the MPS2 boards), polled, with the receive
//! interrupt used only to wake the core from `wfi`.

use core::ptr;

use cortex_m::peripheral::NVIC;

/// UART0: the card's link to the reader (vpcd framing).
pub const UART0: usize = 0x4000_4000;
/// UART1: the defmt log.
#[cfg(feature = "defmt")]
pub const UART1: usize = 0x4000_5000;
/// UART0's receive interrupt on the MPS2 AN385/AN386 (IRQ 0).
pub const UART0_RX_IRQ: u16 = 0;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INTSTATUS: usize = 0x0C;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;

/// The NVIC interrupt number of a UART's receive interrupt.
#[derive(Clone, Copy)]
struct Irq(u16);

// SAFETY: the number is one of the device's interrupt lines (0..32 on MPS2).
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}

/// One CMSDK UART.
pub struct Uart {
    base: usize,
    rx_irq: Option<u16>,
}

impl Uart {
    /// Enable the UART at `base`. With `rx_irq`, reads sleep in `wfi` until a
    /// byte arrives (the interrupt is enabled in the NVIC but stays masked by
    /// PRIMASK: it wakes the core, no handler runs).
    ///
    /// # Safety
    /// `base` must be a CMSDK UART of this device and this must be its only
    /// driver.
    pub unsafe fn new(base: usize, rx_irq: Option<u16>) -> Self {
        let uart = Uart { base, rx_irq };
        // The UART clock is 25 MHz on MPS2; QEMU needs a divider >= 16 but
        // ignores the baud rate otherwise.
        uart.write_reg(BAUDDIV, 16);
        let int = if rx_irq.is_some() { CTRL_RX_INT_EN } else { 0 };
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN | int);
        if let Some(irq) = rx_irq {
            // SAFETY: unmasking in the NVIC cannot break a critical section:
            // PRIMASK stays set (see `main`), so the line only wakes `wfi`.
            unsafe { NVIC::unmask(Irq(irq)) };
        }
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `base` is a UART's register block (constructor contract);
        // `offset` is one of its registers; MMIO needs a volatile access.
        unsafe { ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// Send bytes, waiting while the transmitter is full.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
            self.write_reg(DATA, u32::from(b));
        }
    }

    /// Receive one byte, sleeping until one arrives.
    pub fn read_byte(&mut self) -> u8 {
        loop {
            if self.read_reg(STATE) & STATE_RX_FULL != 0 {
                // The received byte is the register's low byte.
                return self.read_reg(DATA).to_le_bytes()[0];
            }
            match self.rx_irq {
                Some(irq) => {
                    // Clear the latched interrupt, then look again before
                    // sleeping so that a byte that arrived meanwhile is not
                    // slept through (a new byte sets the line again).
                    self.write_reg(INTSTATUS, INT_RX);
                    NVIC::unpend(Irq(irq));
                    if self.read_reg(STATE) & STATE_RX_FULL == 0 {
                        cortex_m::asm::wfi();
                    }
                }
                None => core::hint::spin_loop(),
            }
        }
    }

    /// Fill `buf` from the receiver.
    pub fn read_exact(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.read_byte();
        }
    }
}
