/** Builds guest KVP items exactly as Hyper-V embeds them: single-line CIM-XML instances (wmi.md §5.4). */

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function kvpItemXml(name: string, data: string, source: number): string {
  return (
    '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem">' +
    '<PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string"></PROPERTY>' +
    `<PROPERTY NAME="Data" TYPE="string"><VALUE>${escapeXml(data)}</VALUE></PROPERTY>` +
    '<PROPERTY NAME="Description" PROPAGATED="true" TYPE="string"></PROPERTY>' +
    '<PROPERTY NAME="ElementName" PROPAGATED="true" TYPE="string"></PROPERTY>' +
    `<PROPERTY NAME="Name" TYPE="string"><VALUE>${escapeXml(name)}</VALUE></PROPERTY>` +
    `<PROPERTY NAME="Source" TYPE="uint16"><VALUE>${source}</VALUE></PROPERTY>` +
    '</INSTANCE>'
  );
}

export type GuestOs = 'windows_server_2022' | 'windows_server_2019' | 'ubuntu_24_04';

/**
 * The intrinsic pool a guest of that OS fills in (key sets from wmi.md §5.3; values plausible). The
 * address lists carry the quirks of real guests: Linux daemons end them with ';' and give IPv6 zone
 * indexes by interface name, Windows by number.
 */
export function intrinsicItems(os: GuestOs, hostname: string, ipv4: string, ipv6: string): string[] {
  const windows2022 = os === 'windows_server_2022';
  const pairs: Array<[string, string]> =
    os === 'ubuntu_24_04'
      ? [
          ['FullyQualifiedDomainName', hostname],
          ['IntegrationServicesVersion', '3.1'],
          ['NetworkAddressIPv4', `${ipv4};`],
          ['NetworkAddressIPv6', `fe80::215:5dff:fe01:2a%eth0;${ipv6};`],
          ['OSBuildNumber', '6.8.0-48-generic'],
          ['OSName', 'Ubuntu'],
          ['OSMajorVersion', '6'],
          ['OSMinorVersion', '8'],
          ['OSVersion', '24.04'],
          ['ProcessorArchitecture', 'x86_64'],
        ]
      : [
          ['FullyQualifiedDomainName', `${hostname}.corp.example.com`],
          ['OSName', windows2022 ? 'Windows Server 2022 Datacenter' : 'Windows Server 2019 Standard'],
          ['OSVersion', windows2022 ? '10.0.20348' : '10.0.17763'],
          ['CSDVersion', ''],
          ['OSMajorVersion', '10'],
          ['OSMinorVersion', '0'],
          ['OSBuildNumber', windows2022 ? '20348' : '17763'],
          ['OSPlatformId', '2'],
          ['ServicePackMajor', '0'],
          ['ServicePackMinor', '0'],
          ['SuiteMask', windows2022 ? '400' : '272'],
          ['ProductType', '3'],
          ['OSEditionId', windows2022 ? '8' : '7'],
          ['ProcessorArchitecture', '9'],
          ['IntegrationServicesVersion', windows2022 ? '10.0.20348.1' : '10.0.17763.1'],
          ['NetworkAddressIPv4', ipv4],
          ['NetworkAddressIPv6', `fe80::5d3c:1a2b:9e4f:7c10%6;${ipv6}`],
          ['RDPAddressIPv4', ipv4],
          ['RDPAddressIPv6', ''],
        ];
  return pairs.map(([name, data]) => kvpItemXml(name, data, 2));
}

/** What applications inside the guest publish through the guest pool: a provisioning report, a readiness flag. */
export function guestItems(os: GuestOs, index: number): string[] {
  if (os === 'ubuntu_24_04') return [kvpItemXml('ProvisioningState', index % 4 === 1 ? 'Failed' : 'Succeeded', 1)];
  return index % 2 === 0 ? [kvpItemXml('AppState', 'Ready', 1)] : [];
}
