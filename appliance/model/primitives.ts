// Schema primitives every section of the document shares (names, ids,
// interface names, addresses, ports, secrets): one definition each, so a
// pattern cannot drift between the core sections and a subsystem's.
import { Type } from '@sinclair/typebox';

export const Name = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,31}$',
  description: 'letters, digits, "_", "." and "-", starting with a letter, at most 32 characters',
});
/** Ids of API objects end up in nft comments and set names, so they stay short and plain. */
export const Id = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$',
  description: 'object id: letters, digits, "_", "." and "-", at most 48 characters',
});
/**
 * Marks a schema field that names an interface of the document. Where an
 * interface is selected by `match`, its name is the document's own and the
 * kernel's differs: bindInterfaces (model/selection.ts) rewrites every field
 * carrying this mark to the kernel name before anything is rendered. A
 * symbol, so it never shows in the JSON Schema or OpenAPI.
 */
export const INTERFACE_REFERENCE = Symbol.for('junction.interface-reference');
const IF_NAME_PATTERN = '^[A-Za-z0-9_.-]{1,15}$';
/** A field that names an interface of the document (marked: see INTERFACE_REFERENCE). */
export const interfaceReference = (description: string) => Type.String({ pattern: IF_NAME_PATTERN, description, [INTERFACE_REFERENCE]: true });
export const IfName = interfaceReference('interface name: the kernel name, or the name given to an interface selected by match');
/** Address with prefix length, the way an interface carries it: "10.1.0.1/24". */
export const InterfaceAddress = Type.String({ pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$', description: 'address/prefix, e.g. 10.1.0.1/24' });
/** A network: "10.1.0.0/24". */
export const Network = Type.String({ pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$', description: 'network, e.g. 10.1.0.0/24' });
/** A network, host or range literal: "10.1.0.0/24", "10.1.0.5", "10.1.0.5-10.1.0.9". */
export const AddressLiteral = Type.String({ pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3}|-[0-9a-fA-F:.]+)?$' });
export const IpAddress = Type.String({ pattern: '^[0-9a-fA-F:.]+$', description: 'IPv4 or IPv6 address' });
export const IPv4Address = Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$', description: 'IPv4 address' });
export const Port = Type.Integer({ minimum: 1, maximum: 65535 });
export const PortOrRange = Type.Union([Port, Type.String({ pattern: '^[0-9]{1,5}(-[0-9]{1,5})?$' })], {
  description: 'port number or "first-last"',
});
export const Comment = Type.String({ maxLength: 128, pattern: '^[^"\\\\\\n]*$', description: 'free text, no quotes or newlines' });
/** What the API shows instead of a secret; sent back, it keeps the stored value (model/secrets.ts). */
export const Masked = Type.Literal('********', { description: 'the stored secret, unchanged' });
