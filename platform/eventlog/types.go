package eventlog

import "fmt"

// EventType is a TCG event type (PFP §10.4.1, Table 9).
type EventType uint32

// Event types.
const (
	EvPrebootCert              EventType = 0x00000000
	EvPostCode                 EventType = 0x00000001
	EvUnused                   EventType = 0x00000002
	EvNoAction                 EventType = 0x00000003
	EvSeparator                EventType = 0x00000004
	EvAction                   EventType = 0x00000005
	EvEventTag                 EventType = 0x00000006
	EvSCRTMContents            EventType = 0x00000007
	EvSCRTMVersion             EventType = 0x00000008
	EvCPUMicrocode             EventType = 0x00000009
	EvPlatformConfigFlags      EventType = 0x0000000A
	EvTableOfDevices           EventType = 0x0000000B
	EvCompactHash              EventType = 0x0000000C
	EvIPL                      EventType = 0x0000000D
	EvIPLPartitionData         EventType = 0x0000000E
	EvNonhostCode              EventType = 0x0000000F
	EvNonhostConfig            EventType = 0x00000010
	EvNonhostInfo              EventType = 0x00000011
	EvOmitBootDeviceEvents     EventType = 0x00000012
	EvEFIVariableDriverConfig  EventType = 0x80000001
	EvEFIVariableBoot          EventType = 0x80000002
	EvEFIBootServicesApp       EventType = 0x80000003
	EvEFIBootServicesDriver    EventType = 0x80000004
	EvEFIRuntimeServicesDriver EventType = 0x80000005
	EvEFIGPTEvent              EventType = 0x80000006
	EvEFIAction                EventType = 0x80000007
	EvEFIPlatformFirmwareBlob  EventType = 0x80000008
	EvEFIHandoffTables         EventType = 0x80000009
	EvEFIPlatformFirmwareBlob2 EventType = 0x8000000A
	EvEFIHandoffTables2        EventType = 0x8000000B
	EvEFIVariableBoot2         EventType = 0x8000000C
	EvEFIGPTEvent2             EventType = 0x8000000D
	EvEFIHCRTMEvent            EventType = 0x80000010
	EvEFIVariableAuthority     EventType = 0x800000E0
	EvEFISPDMFirmwareBlob      EventType = 0x800000E1
	EvEFISPDMFirmwareConfig    EventType = 0x800000E2
)

var typeNames = map[EventType]string{
	EvPrebootCert: "EV_PREBOOT_CERT", EvPostCode: "EV_POST_CODE", EvUnused: "EV_UNUSED",
	EvNoAction: "EV_NO_ACTION", EvSeparator: "EV_SEPARATOR", EvAction: "EV_ACTION",
	EvEventTag: "EV_EVENT_TAG", EvSCRTMContents: "EV_S_CRTM_CONTENTS", EvSCRTMVersion: "EV_S_CRTM_VERSION",
	EvCPUMicrocode: "EV_CPU_MICROCODE", EvPlatformConfigFlags: "EV_PLATFORM_CONFIG_FLAGS",
	EvTableOfDevices: "EV_TABLE_OF_DEVICES", EvCompactHash: "EV_COMPACT_HASH", EvIPL: "EV_IPL",
	EvIPLPartitionData: "EV_IPL_PARTITION_DATA", EvNonhostCode: "EV_NONHOST_CODE",
	EvNonhostConfig: "EV_NONHOST_CONFIG", EvNonhostInfo: "EV_NONHOST_INFO",
	EvOmitBootDeviceEvents:    "EV_OMIT_BOOT_DEVICE_EVENTS",
	EvEFIVariableDriverConfig: "EV_EFI_VARIABLE_DRIVER_CONFIG", EvEFIVariableBoot: "EV_EFI_VARIABLE_BOOT",
	EvEFIBootServicesApp: "EV_EFI_BOOT_SERVICES_APPLICATION", EvEFIBootServicesDriver: "EV_EFI_BOOT_SERVICES_DRIVER",
	EvEFIRuntimeServicesDriver: "EV_EFI_RUNTIME_SERVICES_DRIVER", EvEFIGPTEvent: "EV_EFI_GPT_EVENT",
	EvEFIAction: "EV_EFI_ACTION", EvEFIPlatformFirmwareBlob: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
	EvEFIHandoffTables: "EV_EFI_HANDOFF_TABLES", EvEFIPlatformFirmwareBlob2: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
	EvEFIHandoffTables2: "EV_EFI_HANDOFF_TABLES2", EvEFIVariableBoot2: "EV_EFI_VARIABLE_BOOT2",
	EvEFIGPTEvent2: "EV_EFI_GPT_EVENT2", EvEFIHCRTMEvent: "EV_EFI_HCRTM_EVENT",
	EvEFIVariableAuthority: "EV_EFI_VARIABLE_AUTHORITY", EvEFISPDMFirmwareBlob: "EV_EFI_SPDM_FIRMWARE_BLOB",
	EvEFISPDMFirmwareConfig: "EV_EFI_SPDM_FIRMWARE_CONFIG",
}

func (t EventType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", uint32(t))
}
