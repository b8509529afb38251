#!/usr/bin/python3
"""Reads a TensorBoard event file with Google's protobuf runtime (Debian's
python3-protobuf), independently of PneumoScan's C++ code: the messages are
declared here under TensorFlow's field numbers (event.proto, summary.proto,
tensor.proto), every record's masked CRC-32C of length and data is checked,
and the events are printed as JSON for the C++ test to compare.

    /usr/bin/python3 tests/tfevents_check.py FILE
Exit code 0 and JSON on stdout; 1 with a message on stderr for a bad file;
3 when google.protobuf is not installed.
"""
import json
import struct
import sys

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:
    print("google.protobuf not installed (apt-get install python3-protobuf)", file=sys.stderr)
    sys.exit(3)

F = descriptor_pb2.FieldDescriptorProto


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def message(file, name, fields, nested=()):
    m = file.message_type.add() if isinstance(file, descriptor_pb2.FileDescriptorProto) else file.nested_type.add()
    m.name = name
    for number, field_name, field_type, type_name, repeated, packed in fields:
        f = m.field.add()
        f.name, f.number, f.type = field_name, number, field_type
        f.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
        if type_name:
            f.type_name = type_name
        if packed:
            f.options.packed = True
    for build in nested:
        build(m)
    return m


def build_classes():
    fd = descriptor_pb2.FileDescriptorProto(name="tfevents_check.proto", package="tensorflow", syntax="proto3")
    message(fd, "TensorShapeProto", [])
    message(fd, "TensorProto", [
        (1, "dtype", F.TYPE_INT32, None, False, False),
        (2, "tensor_shape", F.TYPE_MESSAGE, ".tensorflow.TensorShapeProto", False, False),
        (8, "string_val", F.TYPE_BYTES, None, True, False)])
    message(fd, "HistogramProto", [
        (1, "min", F.TYPE_DOUBLE, None, False, False), (2, "max", F.TYPE_DOUBLE, None, False, False),
        (3, "num", F.TYPE_DOUBLE, None, False, False), (4, "sum", F.TYPE_DOUBLE, None, False, False),
        (5, "sum_squares", F.TYPE_DOUBLE, None, False, False),
        (6, "bucket_limit", F.TYPE_DOUBLE, None, True, True), (7, "bucket", F.TYPE_DOUBLE, None, True, True)])
    message(fd, "SummaryMetadata", [
        (1, "plugin_data", F.TYPE_MESSAGE, ".tensorflow.SummaryMetadata.PluginData", False, False)],
        nested=[lambda m: message(m, "PluginData", [(1, "plugin_name", F.TYPE_STRING, None, False, False),
                                                    (2, "content", F.TYPE_BYTES, None, False, False)])])
    message(fd, "Summary", [(1, "value", F.TYPE_MESSAGE, ".tensorflow.Summary.Value", True, False)], nested=[
        lambda m: message(m, "Image", [
            (1, "height", F.TYPE_INT32, None, False, False), (2, "width", F.TYPE_INT32, None, False, False),
            (3, "colorspace", F.TYPE_INT32, None, False, False),
            (4, "encoded_image_string", F.TYPE_BYTES, None, False, False)]),
        lambda m: message(m, "Value", [
            (1, "tag", F.TYPE_STRING, None, False, False),
            (2, "simple_value", F.TYPE_FLOAT, None, False, False),
            (4, "image", F.TYPE_MESSAGE, ".tensorflow.Summary.Image", False, False),
            (5, "histo", F.TYPE_MESSAGE, ".tensorflow.HistogramProto", False, False),
            (8, "tensor", F.TYPE_MESSAGE, ".tensorflow.TensorProto", False, False),
            (9, "metadata", F.TYPE_MESSAGE, ".tensorflow.SummaryMetadata", False, False)])])
    message(fd, "Event", [
        (1, "wall_time", F.TYPE_DOUBLE, None, False, False), (2, "step", F.TYPE_INT64, None, False, False),
        (3, "file_version", F.TYPE_STRING, None, False, False),
        (5, "summary", F.TYPE_MESSAGE, ".tensorflow.Summary", False, False)])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    descriptor = pool.FindMessageTypeByName("tensorflow.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def value_json(v):
    out = {"tag": v.tag}
    if v.HasField("image"):
        out.update(kind="image", height=v.image.height, width=v.image.width, colorspace=v.image.colorspace,
                   png_bytes=len(v.image.encoded_image_string),
                   png_signature=v.image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n")
    elif v.HasField("histo"):
        h = v.histo
        out.update(kind="histo", num=h.num, min=h.min, max=h.max, bucket_total=sum(h.bucket),
                   buckets=len(h.bucket), bucket_limits=len(h.bucket_limit))
    elif v.HasField("tensor") and v.metadata.plugin_data.plugin_name == "text":
        out.update(kind="text", text=v.tensor.string_val[0].decode("utf-8"), dtype=v.tensor.dtype)
    else:
        out.update(kind="scalar", value=v.simple_value)
    return out


def main(path):
    Event = build_classes()
    data = open(path, "rb").read()
    events, at = [], 0
    while at < len(data):
        where = f"{path}: record {len(events)} at byte {at}"
        if len(data) - at < 16:
            raise ValueError(f"{where}: truncated")
        (length,) = struct.unpack_from("<Q", data, at)
        (length_crc,) = struct.unpack_from("<I", data, at + 8)
        if masked(crc32c(data[at:at + 8])) != length_crc:
            raise ValueError(f"{where}: length CRC mismatch")
        payload = data[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, at + 12 + length)
        if masked(crc32c(payload)) != data_crc:
            raise ValueError(f"{where}: data CRC mismatch")
        at += 16 + length
        event = Event()
        event.ParseFromString(payload)
        record = {"wall_time": event.wall_time, "step": event.step}
        if event.file_version:
            record["file_version"] = event.file_version
        record["values"] = [value_json(v) for v in event.summary.value]
        events.append(record)
    json.dump(events, sys.stdout)


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (ValueError, OSError, IndexError) as error:
        print(error, file=sys.stderr)
        sys.exit(1)
