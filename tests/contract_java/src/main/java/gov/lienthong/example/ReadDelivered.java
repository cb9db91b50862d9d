package gov.lienthong.example;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.SchemaStore;

/** Decode Lienthong values (one hex string per stdin line) with the Avro library alone. */
public final class ReadDelivered {
  public static void main(String[] args) throws Exception {
    // Every kept writer schema, by fingerprint; the newest version of each type is the reader.
    SchemaStore.Cache writers = new SchemaStore.Cache();
    Map<String, Schema> readers = new HashMap<>();
    Map<String, Integer> newest = new HashMap<>();
    for (String root : args) { // e.g. schemas/avro: v1/Document.avsc, v2/..., every version
      for (File dir : new File(root).listFiles((d, n) -> n.matches("v[0-9]+"))) {
        int version = Integer.parseInt(dir.getName().substring(1));
        for (File file : dir.listFiles((d, n) -> n.endsWith(".avsc"))) {
          Schema schema = new Schema.Parser().parse(file);
          writers.addSchema(schema);
          if (version >= newest.getOrDefault(schema.getFullName(), -1)) {
            newest.put(schema.getFullName(), version);
            readers.put(schema.getFullName(), schema);
          }
        }
      }
    }
    Map<String, BinaryMessageDecoder<GenericRecord>> decoders = new HashMap<>();
    readers.forEach((name, reader) ->
        decoders.put(name, new BinaryMessageDecoder<>(GenericData.get(), reader, writers)));

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) {
        continue;
      }
      byte[] value = HexFormat.of().parseHex(line.strip());
      // C3 01, then the writer's fingerprint as a little-endian long: its name picks the reader.
      long fingerprint = ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      Schema writer = writers.findByFingerprint(fingerprint);
      if (writer == null) {
        out.println("unknown fingerprint 0x" + Long.toHexString(fingerprint));
        continue;
      }
      GenericRecord record = decoders.get(writer.getFullName()).decode(value);
      out.println(writer.getName() + "\t" + record);
    }
  }
}
