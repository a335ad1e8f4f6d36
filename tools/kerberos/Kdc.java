// A throwaway Kerberos KDC for the tests' GSSAPI listener, on Apache Kerby's
// SimpleKdcServer. tools/kafka.ts compiles it once and runs it detached:
//
//   java -cp '<kerby libs>/*:<classes>' Kdc <workDir> <port>
//
// Kerby keeps its principals in memory, but the random keys of krbtgt and of
// the broker's principal are saved on the first start (kdc-keys.keytab) and
// put back on every later one, as a real KDC keeps its database: a KDC
// restarted (after a kill -9, say) honours the tickets it issued before, and
// kafka.keytab never changes under the running broker. Delete the folder for
// a new realm. Everything lives in <workDir>:
//
//   krb5.conf        for Java (the broker, the Java client checks)
//   kafka.keytab     kafka/127.0.0.1@STREAMKAFKA.TEST, the broker's random keys
//   alice.keytab     alice@STREAMKAFKA.TEST, keys derived from her password
//   bob.ccache       a credential cache with bob@STREAMKAFKA.TEST's TGT
//   kdc-keys.keytab  the random keys to keep: krbtgt's and the broker's
//   ready            written last: the KDC answers, every file above is whole
//
// The principals and passwords mirror the constants of tools/kafka.ts.

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kerby.kerberos.kerb.KrbException;
import org.apache.kerby.kerberos.kerb.identity.backend.BackendConfig;
import org.apache.kerby.kerberos.kerb.keytab.Keytab;
import org.apache.kerby.kerberos.kerb.keytab.KeytabEntry;
import org.apache.kerby.kerberos.kerb.request.KrbIdentity;
import org.apache.kerby.kerberos.kerb.server.KdcConfig;
import org.apache.kerby.kerberos.kerb.server.KdcConfigKey;
import org.apache.kerby.kerberos.kerb.server.SimpleKdcServer;
import org.apache.kerby.kerberos.kerb.type.base.EncryptionKey;
import org.apache.kerby.kerberos.kerb.type.base.EncryptionType;
import org.apache.kerby.kerberos.kerb.type.base.PrincipalName;

public final class Kdc {
  static final String REALM = "STREAMKAFKA.TEST";
  static final String HOST = "127.0.0.1";
  static final String SERVICE = "kafka/" + HOST + "@" + REALM;
  static final String TGS = "krbtgt/" + REALM + "@" + REALM;
  static final String ALICE = "alice@" + REALM;
  static final String ALICE_PASSWORD = "alice-secret";
  static final String BOB = "bob@" + REALM;
  static final String BOB_PASSWORD = "bob-secret";
  // The order is the KDC's preference when it picks a session key's type
  // among those the client offers; Kerby's default is aes128 and des3.
  static final String ENCTYPES = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96";

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Kdc <workDir> <port>");
      System.exit(2);
    }
    File dir = new File(args[0]).getAbsoluteFile();
    int port = Integer.parseInt(args[1]);
    Files.createDirectories(dir.toPath());
    Files.deleteIfExists(new File(dir, "ready").toPath());

    KdcConfig config = new KdcConfig();
    config.setString(KdcConfigKey.ENCRYPTION_TYPES, ENCTYPES);
    SimpleKdcServer kdc = new SimpleKdcServer(config, new BackendConfig());
    kdc.setWorkDir(dir);
    kdc.setKdcRealm(REALM);
    kdc.setKdcHost(HOST);
    kdc.setAllowUdp(false);
    kdc.setKdcTcpPort(port);
    // Writes Kerby's own krb5.conf (kdc = localhost); replaced below.
    kdc.init();

    kdc.createPrincipal(SERVICE);
    kdc.createPrincipal(ALICE, ALICE_PASSWORD);
    kdc.createPrincipal(BOB, BOB_PASSWORD);
    File saved = new File(dir, "kdc-keys.keytab");
    if (!restoreKeys(kdc, saved, TGS, SERVICE)) {
      exportKeytab(kdc, saved, TGS, SERVICE);
      System.out.println("new realm: its random keys saved in " + saved);
    }
    exportKeytab(kdc, new File(dir, "kafka.keytab"), SERVICE);
    exportKeytab(kdc, new File(dir, "alice.keytab"), ALICE);
    writeAtomically(new File(dir, "krb5.conf"), krb5Conf(port));

    kdc.start();
    // A kinit session of bob's, as a credential cache (MIT format), for
    // clients that use one; written again every 6 hours, well within the
    // tickets' 24 hours, so it never runs out under a long-lived KDC.
    File ccache = new File(dir, "bob.ccache");
    writeCcache(kdc, ccache);
    java.util.concurrent.ScheduledExecutorService renew =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "ccache-renewal");
          t.setDaemon(true);
          return t;
        });
    renew.scheduleAtFixedRate(() -> {
      try {
        writeCcache(kdc, ccache);
      } catch (Exception e) {
        System.err.println("could not renew " + ccache + ": " + e);
      }
    }, 6, 6, java.util.concurrent.TimeUnit.HOURS);
    for (String name : new String[] {"kafka.keytab", "alice.keytab"}) {
      dump(new File(dir, name));
    }
    writeAtomically(new File(dir, "ready"), ProcessHandle.current().pid() + "\n");
    System.out.println("KDC ready: realm " + REALM + " on tcp " + HOST + ":" + port
        + " (" + ENCTYPES + ")");
    System.out.flush();
    // Kerby serves on its own threads; stay until killed.
    Thread.currentThread().join();
  }

  /**
   * Gives `names` the keys saved in `file`, as they had before the restart;
   * false (and nothing changed) when the file is missing or lacks a key.
   */
  static boolean restoreKeys(SimpleKdcServer kdc, File file, String... names) {
    if (!file.exists()) return false;
    try {
      Keytab keytab = Keytab.loadKeytab(file);
      List<KrbIdentity> restored = new ArrayList<>();
      for (String name : names) {
        List<KeytabEntry> entries = keytab.getKeytabEntries(new PrincipalName(name));
        KrbIdentity identity = kdc.getIdentityService().getIdentity(name);
        Set<EncryptionType> types = new HashSet<>(identity.getKeys().keySet());
        for (KeytabEntry entry : entries) types.remove(entry.getKey().getKeyType());
        if (entries.isEmpty() || !types.isEmpty()) {
          System.out.println(file + " lacks keys of " + name + ": a new realm");
          return false;
        }
        for (KeytabEntry entry : entries) {
          // A key read from a keytab has no kvno of its own (-1): its entry's.
          EncryptionKey key = entry.getKey();
          key.setKvno(entry.getKvno());
          identity.addKey(key);
        }
        restored.add(identity);
      }
      for (KrbIdentity identity : restored) kdc.getIdentityService().updateIdentity(identity);
      System.out.println("keys of " + String.join(", ", names) + " restored from " + file);
      return true;
    } catch (IOException | KrbException e) {
      System.out.println("cannot restore the keys in " + file + " (" + e + "): a new realm");
      return false;
    }
  }

  static String krb5Conf(int port) {
    return String.join("\n",
        "# Written by tools/kerberos/Kdc.java on every KDC start.",
        "[libdefaults]",
        "    default_realm = " + REALM,
        // 1 byte: every request goes over TCP (the KDC has no UDP port).
        "    udp_preference_limit = 1",
        "    default_tkt_enctypes = " + ENCTYPES,
        "    default_tgs_enctypes = " + ENCTYPES,
        "    permitted_enctypes = " + ENCTYPES,
        // Take host names as given: Java would otherwise turn 127.0.0.1 into
        // localhost (a reverse lookup) when it names the service.
        "    dns_canonicalize_hostname = false",
        "    rdns = false",
        "    dns_lookup_kdc = false",
        "    dns_lookup_realm = false",
        "",
        "[realms]",
        "    " + REALM + " = {",
        "        kdc = " + HOST + ":" + port,
        "    }",
        "",
        "[domain_realm]",
        "    " + HOST + " = " + REALM,
        "    localhost = " + REALM,
        "");
  }

  /**
   * Exports through a temporary file, replaced at once: the broker, which
   * reads kafka.keytab for every connection, never sees half a keytab (and
   * Kerby would append to an existing file).
   */
  static void exportKeytab(SimpleKdcServer kdc, File file, String... principals)
      throws Exception {
    File partial = new File(file.getPath() + ".partial");
    Files.deleteIfExists(partial.toPath());
    for (String principal : principals) kdc.exportPrincipal(principal, partial);
    Files.move(partial.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  /** Logs bob in and stores his ticket-granting ticket in `file`, atomically. */
  static void writeCcache(SimpleKdcServer kdc, File file) throws Exception {
    File partial = new File(file.getPath() + ".partial");
    Files.deleteIfExists(partial.toPath());
    org.apache.kerby.kerberos.kerb.client.KrbClient client = kdc.getKrbClient();
    client.storeTicket(client.requestTgt(BOB, BOB_PASSWORD), partial);
    Files.move(partial.toPath(), file.toPath(),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  static void writeAtomically(File file, String text) throws IOException {
    File partial = new File(file.getPath() + ".partial");
    Files.write(partial.toPath(), text.getBytes(StandardCharsets.UTF_8));
    Files.move(partial.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  /** A `klist -k -e` of the keytab, into the log. */
  static void dump(File file) throws IOException {
    Keytab keytab = Keytab.loadKeytab(file);
    System.out.println("keytab " + file + ":");
    for (PrincipalName principal : keytab.getPrincipals()) {
      for (KeytabEntry entry : keytab.getKeytabEntries(principal)) {
        System.out.println("  kvno " + entry.getKvno() + " " + principal.getName()
            + " " + entry.getKey().getKeyType().getName()
            + " (etype " + entry.getKey().getKeyType().getValue() + ")");
      }
    }
  }
}
