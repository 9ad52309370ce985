//! CRC-32 (IEEE 802.3 / ISO-HDLC: reflected polynomial 0xEDB88320, init and
//! final XOR 0xFFFFFFFF), nibble-at-a-time with a 64-byte table.

const POLY: u32 = 0xEDB8_8320;

const TABLE: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut i: u32 = 0;
    while i < 16 {
        let mut c = i;
        let mut k = 0;
        while k < 4 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        #[allow(clippy::indexing_slicing)] // i < 16
        {
            t[i as usize] = c;
        }
        i += 1;
    }
    t
};

#[inline(always)]
fn step(c: u32) -> u32 {
    (c >> 4) ^ TABLE.get((c & 0xF) as usize).copied().unwrap_or(0)
}

/// Incremental CRC-32 state.
#[derive(Clone, Copy)]
pub(crate) struct Crc32(u32);

impl Crc32 {
    pub(crate) fn new() -> Self {
        Crc32(!0)
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c ^= u32::from(b);
            c = step(step(c));
        }
        self.0 = c;
    }

    pub(crate) fn finish(self) -> u32 {
        !self.0
    }
}

/// CRC-32 (IEEE) of `data`; `crc32(b"123456789") == 0xCBF4_3926`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b""), 0);
    }
}
