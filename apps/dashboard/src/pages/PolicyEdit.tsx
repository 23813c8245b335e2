export function PolicyEditPage(_props: { id?: string }) {
  return <div className="page" />;
}
