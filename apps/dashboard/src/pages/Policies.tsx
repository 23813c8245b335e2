export function PoliciesPage() {
  return <div className="page" />;
}
