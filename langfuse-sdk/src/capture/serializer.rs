//! The writer's `serde::Serializer`: every value kind, with depth counted and odd values marked.

use std::fmt::{self, Display};

use base64::Engine as _;
use serde::ser::{self, Serialize};

use crate::capture::text::prefix_at_boundary;
use crate::capture::writer::{CaptureError, Compound, Writer, MAX_DEPTH};

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = CaptureError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), CaptureError> {
        self.push(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), CaptureError> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i16(self, v: i16) -> Result<(), CaptureError> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i32(self, v: i32) -> Result<(), CaptureError> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i64(self, v: i64) -> Result<(), CaptureError> {
        self.int_text(v < 0, v.unsigned_abs() as u128);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), CaptureError> {
        self.int_text(v < 0, v.unsigned_abs());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), CaptureError> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u16(self, v: u16) -> Result<(), CaptureError> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u32(self, v: u32) -> Result<(), CaptureError> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u64(self, v: u64) -> Result<(), CaptureError> {
        self.int_text(false, v as u128);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), CaptureError> {
        self.int_text(false, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), CaptureError> {
        if v.is_finite() {
            // Print the f32's own shortest form, not the widened f64's.
            let s = format!("{v:?}");
            self.push(&s);
        } else {
            self.float(v as f64);
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), CaptureError> {
        self.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), CaptureError> {
        let mut b = [0u8; 4];
        self.string_value(v.encode_utf8(&mut b));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CaptureError> {
        self.string_value(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CaptureError> {
        // Only as much as can be kept is encoded (three bytes per four characters); the size
        // of the rest is known without encoding it.
        let room = self.limit.saturating_sub(self.out.len() - self.start);
        let kept = v.len().min(room / 4 * 3 + 3);
        let s = format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(&v[..kept])
        );
        self.string_value(&s);
        if kept < v.len() {
            // `string_value` truncated: `s` alone is longer than the room.
            self.total += v.len().div_ceil(3) * 4 - kept.div_ceil(3) * 4;
        }
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CaptureError> {
        self.push("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CaptureError> {
        self.wrapped(value)
    }
    fn serialize_unit(self) -> Result<(), CaptureError> {
        self.push("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CaptureError> {
        self.push("null");
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CaptureError> {
        self.string_value(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        self.wrapped(value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        let mut c = self.open("{")?;
        c.field(variant, value)?;
        c.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, CaptureError> {
        self.open("[")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, CaptureError> {
        self.open("[")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        self.open("[")
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        variant_open(self, variant, "[")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, CaptureError> {
        self.open("{")
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        self.open("{")
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        variant_open(self, variant, "{")
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), CaptureError> {
        // Only as much as can be kept is formatted: a huge `Display` stops at the limit.
        let room = self.limit.saturating_sub(self.out.len() - self.start);
        let mut text = Bounded {
            s: String::new(),
            max: room.saturating_add(4),
            cut: false,
        };
        let _ = fmt::write(&mut text, format_args!("{value}"));
        // Cut: longer than the room, so `string_value` truncates; the rest is not counted.
        self.exact &= !text.cut;
        self.string_value(&text.s);
        Ok(())
    }
}

/// A `fmt::Write` that keeps at most `max` bytes and then fails, which ends the formatting.
struct Bounded {
    s: String,
    max: usize,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, part: &str) -> fmt::Result {
        let room = self.max - self.s.len();
        if part.len() > room {
            self.s.push_str(prefix_at_boundary(part, room));
            self.cut = true;
            return Err(fmt::Error);
        }
        self.s.push_str(part);
        Ok(())
    }
}

/// Opens `{"variant": [` or `{"variant": {`; a too-deep value gets the marker instead.
fn variant_open<'a>(
    w: &'a mut Writer,
    variant: &'static str,
    bracket: &'static str,
) -> Result<Compound<'a>, CaptureError> {
    w.check()?;
    if w.nesting() + 1 >= MAX_DEPTH {
        return Ok(w.too_deep());
    }
    w.push("{");
    w.depth += 1;
    w.push_escaped(variant);
    w.push(":");
    w.open(bracket)
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish_variant()
    }
}
impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CaptureError> {
        self.key(k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.value(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), CaptureError> {
        self.field(k, v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), CaptureError> {
        self.field(k, v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish_variant()
    }
}
