import { formatBytes, imageDigest, imageTag, shortDigest } from '../../../console/src/format';

describe('images and sizes as the pages write them', () => {
  const digest = `sha256:${'3f2a1c9d0b4e'}${'0'.repeat(52)}`;

  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.4.2', '1.4.2'],
    [`123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.4.2@${digest}`, '1.4.2'],
    [`registry.example.com:5000/team/shop@${digest}`, undefined],
    ['registry.example.com:5000/team/shop:develop-3f2a1c', 'develop-3f2a1c'],
    ['shop', undefined],
  ])('reads the tag of %s', (image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });

  it('reads the pinned digest and shortens it to 12 hex digits', () => {
    expect(imageDigest(`shop:1.4.2@${digest}`)).toBe(digest);
    expect(imageDigest('shop:1.4.2')).toBeUndefined();
    expect(shortDigest(digest)).toBe('sha256:3f2a1c9d0b4e');
    expect(shortDigest(undefined)).toBeUndefined();
  });

  it('writes sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(123_456_789)).toBe('118 MiB');
  });
});
