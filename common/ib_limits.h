/*
 * ib_limits.h - every cap ibackup puts on what a peer may make it do,
 * with the reason for its value. Parsers check these before allocating.
 * Add new limits here, never as bare numbers in a parser.
 */
#ifndef IB_LIMITS_H
#define IB_LIMITS_H

/* --- usbmux (usbmux.md section 1.3, 2.8) --- */
/* Largest mux packet either side builds: usbmuxd's USB_MTU (3 x 16 KiB). */
#define IB_MUX_MTU 49152u
/* Largest mux packet accepted: usbmuxd's 64 KiB reassembly buffer. */
#define IB_MUX_MRU 65536u
/* Bytes of one device->host stream held before the host reads them; the
 * window we advertise never exceeds it (usbmuxd: 256 KiB per connection). */
#define IB_MUX_STREAM_RXBUF (256u * 1024u)
/* Streams open to one device at once (usbmuxd2 caps at 0xFFF0). */
#define IB_MUX_MAX_STREAMS 1024u
/* Bytes of one stream queued by send() and not yet output. send() never
 * takes more than the peer's open window, so this only has to cover the
 * largest window a peer advertises: real phones 128 KiB (0x0200 x 256),
 * usbmuxd 128 KiB; twice that leaves room, usbmuxd2's 512 KiB is only
 * used up to this. */
#define IB_MUX_STREAM_TXBUF (256u * 1024u)
/* Bytes of a device CONTROL message or RST reason we keep for the log. */
#define IB_MUX_TEXT_MAX 1024u
/* CONTROL messages waiting to be taken as events; more are logged and
 * dropped (a device only sends them rarely; a flood must not grow). */
#define IB_MUX_CONTROL_EVENTS 16u
/* RSTs for packets of unknown streams waiting for output; beyond this
 * they are dropped (the peer learns from the next one). */
#define IB_MUX_ANON_RST_MAX 64u

/* --- usbmuxd socket protocol (usbmux.md section 3.2) --- */
/* usbmuxd closes a client whose message is longer than 64 KiB; pair
 * records travel in these messages and are a few KiB. */
#define IB_MUXD_MSG_MAX 65536u
/* Devices one usbmuxd listing may describe before we stop believing it. */
#define IB_MUXD_MAX_DEVICES 4096u
/* Entries of a ListListeners reply we accept (one per listening client). */
#define IB_MUXD_MAX_LISTENERS 4096u
/* Notification bytes a usbmuxd server queues for one listening client
 * that does not read; past it the client is dropped so that it cannot
 * hold memory or slow the others (a few hundred Attached messages). */
#define IB_MUXD_CLIENT_BACKLOG (1024u * 1024u)

/* --- the virtual device's socket protocol (doc/sim-protocol.md) --- */
/* One message: a device list of IB_SIM_MAX_DEVICES entries stays well
 * under it (a device description is about 600 bytes of XML). */
#define IB_SIM_MSG_MAX (256u * 1024u)
/* Devices one simulator serves, and one listing may describe. */
#define IB_SIM_MAX_DEVICES 64u

/* --- property lists --- */
/* Largest plist message accepted from lockdownd or a service. go-ios
 * caps at 16 MiB; Info.plist with app icons reaches 11.4 MB, which the
 * device never sends us as a message. */
#define IB_PLIST_MSG_MAX (16u * 1024u * 1024u)
/* Nesting depth of any plist we parse; real messages nest under 10. */
#define IB_PLIST_DEPTH_MAX 64u
/* Nodes in one parsed plist: bounds the memory libplist may allocate
 * (a 16 MiB binary plist can otherwise declare millions of objects). */
#define IB_PLIST_NODES_MAX 1000000u

/* --- backup folder and file transfer (mobilebackup2.md section 4) --- */
/* Longest path the device may name; idevicebackup2 caps names at 4096. */
#define IB_PATH_MAX 4096u
/* Data bytes per file-transfer chunk we send: Apple's 32 KiB default
 * (bigger frames get BackupAgent2 killed, pmd3 PR#1858). */
#define IB_DL_CHUNK 32768u
/* Largest chunk we accept from the device (it sends 32 KiB; allow 4x). */
#define IB_DL_CHUNK_MAX (128u * 1024u)
/* Elements of one DeviceLink message array: the longest real one
 * (DLMessageDownloadFiles) has 5. */
#define IB_DL_MSG_ELEMS_MAX 16u
/* Paths (or source/destination pairs) in one DeviceLink request, and
 * entries in one ContentsOfDirectory answer: a 16 MiB message holds at
 * most ~400k short paths; real requests carry a few thousand. */
#define IB_DL_ITEMS_MAX 500000u
/* Bytes of a peer's error text we keep (file-transfer error chunk, status
 * string); the rest is skipped. Real texts are one short sentence. */
#define IB_DL_TEXT_MAX 1024u
/* Directory levels walked by recursive remove/copy/extract. A backup
 * folder is 3 deep (UDID/Snapshot/xx); app data rarely passes 20. */
#define IB_FS_DEPTH_MAX 64u
/* Bytes of one Manifest.db `file` blob (an MBFile archive): real ones
 * are 400-700 bytes; extended attributes can add a few KiB. */
#define IB_MBFILE_MAX (256u * 1024u)

/* --- backup encryption (mobilebackup2.md section 6.2) --- */
/* Serialised BackupKeyBag: iOS's is ~1.5 KiB (header + 11 class keys). */
#define IB_KEYBAG_MAX (64u * 1024u)
/* Class-key entries in one keybag: iOS writes 11 (classes 1-11). */
#define IB_KEYBAG_CLASSES_MAX 32u
/* Value of one keybag tag (largest known: 40-byte HMCK/WPKY); unknown
 * tags longer than this are refused rather than skipped. */
#define IB_KEYBAG_VALUE_MAX 1024u
/* PBKDF2 rounds a keybag may ask for. iOS writes ITER 10,000 (SHA-1)
 * and DPIC 10,000,000 (SHA-256, ~3 s here); the caps allow 1000x and 10x
 * that (~3 s and ~40 s) so a hostile keybag cannot make unlock spin for
 * hours, while a future iOS raising the counts still opens. */
#define IB_KEYBAG_ITER_MAX 10000000u
#define IB_KEYBAG_DPIC_MAX 100000000u

/* --- device services: notification_proxy, AFC, installation_proxy
 *     (lockdown.md section 7) --- */
/* Longest notification name; Apple's are under 80 bytes. */
#define IB_NP_NAME_MAX 256u
/* Names one notification_proxy connection may observe (device side);
 * a backup observes six. */
#define IB_NP_OBSERVE_MAX 128u
/* Relays queued for one host connection before the device drops it
 * (device side; a host that never reads must not grow memory). */
#define IB_NP_QUEUE_MAX 256u
/* AFC header data after the 40-byte header: two u64 and a
 * NUL-terminated path is the most any operation we speak carries. */
#define IB_AFC_HDATA_MAX (IB_PATH_MAX + 16u)
/* AFC payload of one packet: pymobiledevice3 reads up to 4 MiB at once,
 * the most a peer is known to ask for. */
#define IB_AFC_PAYLOAD_MAX (4u * 1024u * 1024u)
/* Keys of one GetFileInfo answer (a device sends about eight). */
#define IB_AFC_INFO_KEYS_MAX 256u
/* Bytes per FileRead/FileWrite we send: idevicebackup2 reads 64 KiB. */
#define IB_AFC_IO_CHUNK 65536u
/* Apps one installation_proxy Browse may list (go-ios caps entries at a
 * million; real devices hold a few hundred). */
#define IB_INSTPROXY_APPS_MAX 10000u
/* Plist bytes one Browse may deliver in total: SINF and iTunesMetadata
 * are a few KiB per app. */
#define IB_INSTPROXY_BYTES_MAX (64u * 1024u * 1024u)

#endif /* IB_LIMITS_H */
